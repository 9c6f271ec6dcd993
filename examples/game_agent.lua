-- A game agent: a chaser steers toward a moving target, frame after frame.
-- Its policy is a small network, trained in the same process and queried
-- once per frame, the way a game would use it.
--
-- The game: a 1x1 arena; the target drifts on a wobbling loop; the chaser
-- picks one of four thrusts (left, right, up, down) each frame, with inertia
-- and drag. Score: mean distance to the target (lower is better).
--
-- Training is imitation with DAgger (Ross et al., 2011): an expert
-- controller that knows where the target is heading labels every state the
-- *learner* visits, the data set grows round after round, and the network is
-- refitted on it. Plain behaviour cloning would only see the expert's own
-- states and drift off them at play time.
--
--   lua5.4 examples/game_agent.lua        (`make game` from a checkout)

-- From a source checkout after `make` (`make LUA=luajit` for LuaJIT, ...): the
-- checkout's src/ and the build for this Lua (build/, build/luajit/, ...) are
-- searched after Lua's own paths, so no LUA_PATH is needed (README, "Install").
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local build = jit and "luajit/" or _VERSION == "Lua 5.4" and "" or "lua" .. _VERSION:sub(5) .. "/"
package.path = package.path .. ";" .. here .. "/../src/?.lua;" .. here .. "/../src/?/init.lua"
package.cpath = package.cpath .. ";" .. here .. "/../build/" .. build .. "?.so"
local bp = require("backprop")

local seed = 7
bp.manual_seed(seed)
math.randomseed(seed)

-- The world (the arena, the target's loop, the thrusters, the expert) is
-- the LÖVE example's, examples/love/agent.lua, where the same ship learns
-- online while you watch.
local world = dofile(here .. "/love/agent.lua")
local new_world, observe, expert, step = world.new_world, world.observe, world.expert, world.move
local NFEAT = 8

-- The policy: 8 observations -> 4 action scores.
local net = bp.Sequential{
  bp.Linear(NFEAT, 32), bp.Tanh(),
  bp.Linear(32, 32), bp.Tanh(),
  bp.Linear(32, 4),
}
local obs, scores = {}, {}

-- Query the network for one frame; returns the best action. Plain tables
-- in and out, both reused: a frame creates no garbage.
local function policy(w)
  net:forward(observe(w, obs), scores)
  local best = 1
  for a = 2, 4 do
    if scores[a] > scores[best] then best = a end
  end
  return best
end

-- Play `episodes` games of `frames` frames with `choose(w)` deciding each
-- frame; returns the mean distance. With `record`, the expert labels every
-- visited state into the rows of `record`.
local function play(choose, episodes, frames, record)
  local total = 0
  for _ = 1, episodes do
    local w = new_world()
    for _ = 1, frames do
      if record then
        local row = {}
        observe(w, row)
        record.x[#record.x + 1] = row
        record.y[#record.y + 1] = expert(w)
      end
      total = total + step(w, choose(w))
    end
  end
  return total / (episodes * frames)
end

local function random_policy() return math.random(4) end

local started = os.clock()
local data = {x = {}, y = {}}
local loss, opt = bp.CrossEntropyLoss(), bp.Adam(net, {lr = 3e-3})
local EPISODES, FRAMES = 8, 400
-- Round 1 follows the expert; later rounds follow the learner (DAgger).
play(expert, EPISODES, FRAMES, data)
for round = 1, 6 do
  net:fit(bp.tensor(data.x), bp.tensor(data.y), {
    loss = loss, optimizer = opt, epochs = 15, batch_size = 64,
  })
  local d = play(policy, EPISODES, FRAMES, data)
  print(string.format("round %d: %6d labelled states, learner's mean distance %.4f",
                      round, #data.x, d))
end
local train_time = os.clock() - started

-- Fresh games, the same for every controller.
local function evaluate(choose)
  math.randomseed(seed + 1000)
  return play(choose, 20, 500)
end
local d_random, d_expert = evaluate(random_policy), evaluate(expert)
local t0 = os.clock()
local d_net = evaluate(policy)
local per_frame = (os.clock() - t0) / (20 * 500)

print(string.format("mean distance to the target over 20 new games (seed %d):", seed))
print(string.format("  random thrusts   %.4f", d_random))
print(string.format("  expert           %.4f", d_expert))
print(string.format("  trained network  %.4f", d_net))
print(string.format("training took %.2f s; a game frame with one network query takes %.2f us",
                    train_time, per_frame * 1e6))
