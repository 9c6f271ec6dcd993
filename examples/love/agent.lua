-- examples/love/agent.lua: the world and the learner of the LÖVE example,
-- without graphics: main.lua draws them, and any Lua with backprop runs
-- them too (`luajit examples/love/agent.lua` prints the error curve).
--
-- A ship with four thrusters (left, right, up, down) chases a target that
-- loops around the arena. The ship is flown by a network from the start:
-- 8 numbers it sees (its position and velocity, where the target is and
-- where it is heading) in, a score per thruster out, the best one fired.
-- An expert that knows where the target will be labels every state the
-- ship visits with the thruster it would fire, and every frame the network
-- takes one training step on 32 labelled states drawn from the last 4096
-- (imitation learning with the learner in control, as DAgger). The network
-- starts out flying badly and gets better while you watch. Its error, per
-- second of game: how often it fires another thruster than the expert
-- would (mistakes), its training loss, and its distance to the target.

local bp = require("backprop")

local A = {}

local THRUST, DRAG, MAXV = 0.0016, 0.92, 0.03
local ACTIONS = { { -1, 0 }, { 1, 0 }, { 0, -1 }, { 0, 1 } }   -- left right up down
local NFEAT, BATCH, MEMORY = 8, 32, 4096
local FPS = 60                     -- game frames in a second of game time
local EPISODE = 900                -- frames before the target picks a new loop

A.FPS, A.ACTIONS = FPS, ACTIONS

-- The target's place at frame t of a world.
function A.target(w, t)
  local s = 0.013 * t + w.phase
  return 0.5 + 0.38 * math.cos(s * w.fx), 0.5 + 0.38 * math.sin(s * w.fy)
end

--- A new world: the target's loop (a random phase and shape) and the ship
-- at a random place, at rest.
function A.new_world()
  return {
    t = 0, phase = math.random() * 2 * math.pi,
    fx = 0.5 + math.random() * 0.6, fy = 0.7 + math.random() * 0.6,
    x = math.random(), y = math.random(), vx = 0, vy = 0,
  }
end

--- What the ship sees, written into obs (reused: no garbage per frame).
function A.observe(w, obs)
  local tx, ty = A.target(w, w.t)
  local nx, ny = A.target(w, w.t + 1)
  obs[1], obs[2] = w.x - 0.5, w.y - 0.5
  obs[3], obs[4] = w.vx / MAXV, w.vy / MAXV
  obs[5], obs[6] = (tx - w.x) * 4, (ty - w.y) * 4
  obs[7], obs[8] = (nx - tx) * 50, (ny - ty) * 50
  return obs
end

--- The expert: aim where the target will be in a few frames, fire the
-- thruster that best turns the velocity into the one wanted.
function A.expert(w)
  local lead = 6
  local tx, ty = A.target(w, w.t + lead)
  local dx, dy = tx - (w.x + w.vx * lead), ty - (w.y + w.vy * lead)
  local best, score = 1, -math.huge
  for a, d in ipairs(ACTIONS) do
    local s = d[1] * dx + d[2] * dy
    if s > score then best, score = a, s end
  end
  return best
end

--- Fire thruster a for one frame; returns the distance to the target.
function A.move(w, a)
  local d = ACTIONS[a]
  w.vx = math.max(-MAXV, math.min(MAXV, (w.vx + d[1] * THRUST) * DRAG))
  w.vy = math.max(-MAXV, math.min(MAXV, (w.vy + d[2] * THRUST) * DRAG))
  w.x = math.max(0, math.min(1, w.x + w.vx))
  w.y = math.max(0, math.min(1, w.y + w.vy))
  w.t = w.t + 1
  local tx, ty = A.target(w, w.t)
  return math.sqrt((tx - w.x) ^ 2 + (ty - w.y) ^ 2)
end

--- A learner: the world, the network flying in it, its memory of labelled
-- states, and the curve so far ({loss = ..., distance = ...} per second).
function A.new(seed)
  bp.manual_seed(seed)
  math.randomseed(seed)
  local L = {
    world = A.new_world(), frame = 0, action = 1,
    net = bp.Sequential{
      bp.Linear(NFEAT, 32), bp.Tanh(), bp.Linear(32, 32), bp.Tanh(), bp.Linear(32, 4),
    },
    loss = bp.CrossEntropyLoss(),
    obs = {}, scores = {}, xs = {}, ys = {}, stored = 0,
    xb = bp.zeros(BATCH, NFEAT), yb = bp.zeros(BATCH),
    curve = {}, sum_loss = 0, steps = 0, sum_dist = 0, wrong = 0,
  }
  L.opt = bp.Adam(L.net, { lr = 3e-3 })
  for i = 1, MEMORY do L.xs[i] = {} end
  return setmetatable(L, { __index = A })
end

-- One training step on BATCH states drawn from memory.
local function learn(L)
  local n = math.min(L.stored, MEMORY)
  local xb, yb = L.xb, L.yb
  for r = 1, BATCH do
    local k = math.random(n)
    local row = L.xs[k]
    for c = 1, NFEAT do xb:set(r, c, row[c]) end
    yb:set(r, L.ys[k])
  end
  L.sum_loss = L.sum_loss + L.net:train_step(xb, yb, L.loss, L.opt)
  L.steps = L.steps + 1
end

--- One frame: the network picks the thruster (plain tables in and out,
-- the per-frame call a game makes), the expert labels the state, the ship
-- moves, the network learns. Returns the distance to the target.
function A:step()
  local w = self.world
  local obs = A.observe(w, self.obs)
  local scores = self.net:forward(obs, self.scores)
  local a = 1
  for k = 2, 4 do if scores[k] > scores[a] then a = k end end
  self.action = a
  local slot = self.stored % MEMORY + 1
  local row = self.xs[slot]
  for c = 1, NFEAT do row[c] = obs[c] end
  local label = A.expert(w)
  self.ys[slot] = label
  self.stored = self.stored + 1
  if a ~= label then self.wrong = self.wrong + 1 end
  local d = A.move(w, a)
  if self.stored >= 4 * BATCH then learn(self) end
  self.frame = self.frame + 1
  self.sum_dist = self.sum_dist + d
  if self.frame % FPS == 0 then
    self.curve[#self.curve + 1] = {
      mistakes = self.wrong / FPS,
      loss = self.steps > 0 and self.sum_loss / self.steps or 0 / 0,
      distance = self.sum_dist / FPS,
    }
    self.sum_loss, self.steps, self.sum_dist, self.wrong = 0, 0, 0, 0
  end
  if w.t >= EPISODE then self.world = A.new_world() end
  return d
end

--- The curve as text: one line "second mistakes loss distance" per point
-- (the loss is nan before the first training step).
function A:curve_text()
  local out = {}
  for i, p in ipairs(self.curve) do
    out[i] = string.format("%d %.4f %.6f %.6f", i, p.mistakes, p.loss, p.distance)
  end
  return table.concat(out, "\n") .. "\n"
end

-- Run from the command line (with backprop on the search paths):
-- `luajit examples/love/agent.lua [seconds]` prints the curve of that many
-- seconds of game time. (examples/game_agent.lua loads this file for the
-- world alone.)
if arg and arg[0] and ("/" .. arg[0]):match("[/\\]agent%.lua$") and not love then
  local L = A.new(1)
  for _ = 1, (tonumber(arg[1]) or 40) * FPS do L:step() end
  io.write(L:curve_text())
end

return A
