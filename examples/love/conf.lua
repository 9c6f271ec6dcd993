-- examples/love/conf.lua: LÖVE 11's settings for the example (read before
-- main.lua).
function love.conf(t)
  t.version = "11.4"
  t.identity = "backprop-love"
  t.window.title = "backprop in LÖVE: a ship learns to chase"
  t.window.width, t.window.height = 640, 480
  t.window.vsync = 1
  -- Not used: no sound, joystick or physics.
  t.modules.audio, t.modules.sound = false, false
  t.modules.joystick, t.modules.physics = false, false
end
