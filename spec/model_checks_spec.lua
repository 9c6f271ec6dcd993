-- bp.load on files built byte by byte (serialize.h): settings by name
-- (missing ones take their defaults, unknown ones are refused), damaged
-- Residual records, and headers that claim more than the file holds,
-- refused before anything of that size is allocated.
local bp = require("backprop")
local H = require("helper")
local B = require("bytes")   -- string.pack and unpack on every Lua
local internal = require("backprop.core").internal

local dir
local function path(name) return dir .. "/" .. name end

local MAGIC = "\137BPNET\r\n"

-- A setting: name, type (1 size, 2 pair, 3 float), value ({h, w} for a pair).
local function setting(name, ty, v)
  local s = B.pack("<s1B", name, ty)
  if ty == 1 then return s .. B.pack("<I4", v) end
  if ty == 2 then return s .. B.pack("<I4I4", v[1], v[2]) end
  return s .. B.pack("<f", v)
end

-- A version 2 record: kind, a list of settings, the state values.
local function record(kind, settings, state)
  state = state or {}
  local body = B.pack("<I4", #settings) .. table.concat(settings)
  body = body .. B.pack("<I4", #state)
  for _, v in ipairs(state) do body = body .. B.pack("<f", v) end
  return B.pack("<I4I4", kind, #body) .. body
end

-- A whole file: version, records, then nparams (the count written) and the
-- floats (fewer than nparams to make a file that claims more than it has).
local function file(version, records, nparams, floats)
  local s = MAGIC .. B.pack("<I4I4", version, #records) .. table.concat(records)
  s = s .. B.pack("<I8", nparams)
  for _, v in ipairs(floats or {}) do s = s .. B.pack("<f", v) end
  return H.with_crc(s)
end

local function load_err(name, bytes)
  local p = H.write(path(name), bytes)
  local ok, err = pcall(bp.load, p)
  assert.is_false(ok, name .. " loaded")
  return tostring(err), p
end

local LINEAR = 1

describe("bp.load", function()
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rmtree(dir) end)

  describe("sizes claimed by the file", function()
    -- 8 magic + 4 version + 4 layers + 8 kind and length + 12 in, out,
    -- alpha (version 1) + 8 parameter count + 4 checksum = 48 bytes
    local function v1_linear(a, b, nparams)
      return file(1, { B.pack("<I4I4I4I4f", LINEAR, 12, a, b, 0) }, nparams)
    end

    for _, case in ipairs({ { 1, 1862270976 }, { 65536, 32767 } }) do
      local a, b = case[1], case[2]
      local n = a * b + b
      it(("refuses a 48-byte file claiming Linear(%d -> %d) before allocating it"):format(a, b), function()
        for _, claimed in ipairs({ 0, n }) do
          local bytes = v1_linear(a, b, claimed)
          assert.equal(48, #bytes)
          local p = H.write(path("big.bp"), bytes)
          local before = internal.alloc_count()
          local ok, err = pcall(bp.load, p)
          -- the file's own bytes are the one allocation: nothing sized by
          -- the header (the old parser made the layer table, the network
          -- and its parameter buffers first: 8 or more)
          assert.is_true(internal.alloc_count() - before <= 1)
          assert.is_false(ok)
          if claimed == 0 then
            assert.matches("is corrupt %(0 parameters for a topology of " .. n .. "%)", err)
          else
            assert.matches("is truncated %(weights%)", err)
          end
        end
      end)
    end

    it("refuses the same in a version 2 record", function()
      local bytes = file(2, { record(LINEAR, { setting("in_features", 1, 65536), setting("out_features", 1, 32767) }) },
                         65536 * 32767 + 32767)
      local before = internal.alloc_count()
      assert.matches("is truncated %(weights%)", load_err("big2.bp", bytes))
      assert.is_true(internal.alloc_count() - before <= 1)
    end)

    it("refuses the same in a version 3 file (sections after the weights)", function()
      local head = MAGIC .. B.pack("<I4I4", 3, 1)
        .. record(LINEAR, { setting("in_features", 1, 65536), setting("out_features", 1, 32767) })
      for _, tail in ipairs({ "", B.pack("<I4", 0), B.pack("<I4s1BI8", 1, "predictor", 0, 2 ^ 40) }) do
        local bytes = H.with_crc(head .. B.pack("<I8", 65536 * 32767 + 32767) .. tail)
        local before = internal.alloc_count()
        assert.matches("is truncated %(weights%)", load_err("big3.bp", bytes))
        assert.is_true(internal.alloc_count() - before <= 1)
      end
      -- weights there, the section list claiming more than the file holds
      local small = MAGIC .. B.pack("<I4I4", 3, 1)
        .. record(LINEAR, { setting("in_features", 1, 1), setting("out_features", 1, 1) })
        .. B.pack("<I8ff", 2, 1, 2)
      for _, case in ipairs({ { B.pack("<I4", 1), "is truncated %(sections%)" },
                              { B.pack("<I4s1BI8", 1, "predictor", 0, 2 ^ 40), "is truncated %(sections%)" },
                              { B.pack("<I4", 2 ^ 31), "is corrupt %(2147483648 sections, at most 64%)" } }) do
        local before = internal.alloc_count()
        assert.matches(case[2], load_err("sections.bp", H.with_crc(small .. case[1])))
        assert.is_true(internal.alloc_count() - before <= 1)
      end
    end)

    it("refuses layer counts and record lengths past the end of the file", function()
      local one = record(LINEAR, { setting("in_features", 1, 1), setting("out_features", 1, 1) })
      local s = MAGIC .. B.pack("<I4I4", 2, 1000000) .. one .. B.pack("<I8", 2) .. ("\0"):rep(8)
      assert.matches("is truncated %(layers%)", load_err("count.bp", H.with_crc(s)))
      local long = one:sub(1, 4) .. B.pack("<I4", 4096) .. one:sub(9)
      s = MAGIC .. B.pack("<I4I4", 2, 1) .. long .. B.pack("<I8", 2) .. ("\0"):rep(8)
      assert.matches("is truncated %(layers%)", load_err("len.bp", H.with_crc(s)))
    end)
  end)

  describe("a damaged Residual record (with a valid checksum) is corrupt", function()
    local function net(span, extra)
      local records = {
        record(LINEAR, { setting("in_features", 1, 2), setting("out_features", 1, 2) }),
        record(22, { setting("span", 1, span) }),
      }
      for _, r in ipairs(extra or {}) do records[#records + 1] = r end
      return file(2, records, 6, { 1, 2, 3, 4, 5, 6 })
    end

    it("a span past the first layer", function()
      local err, p = load_err("span.bp", net(5))
      assert.equal("backprop.load: '" .. p .. "' is corrupt (layer 2 (Residual) spans 5 layers, "
                   .. "but only 1 come before it)", err)
    end)

    it("a span of 0", function()
      local err, p = load_err("span0.bp", net(0))
      assert.equal("backprop.load: '" .. p .. "' is corrupt (layer 2 (Residual): span must be a positive "
                   .. "integer, got 0)", err)
    end)

    it("bodies that cross instead of nesting", function()
      -- layers 2 and 3 close bodies of layers 1 and 1-2 (nested); layer 4
      -- spans layers 2-3, which takes layer 2 without its body (layer 1)
      local err, p = load_err("cross.bp", net(1, { record(22, { setting("span", 1, 2) }),
                                                    record(22, { setting("span", 1, 2) }) }))
      assert.equal("backprop.load: '" .. p .. "' is corrupt (layer 4 (Residual) spans part of the body "
                   .. "of layer 2)", err)
    end)

    it("a Residual record without its span", function()
      local err = load_err("nospan.bp", file(2, { record(LINEAR, { setting("in_features", 1, 2),
                                                                    setting("out_features", 1, 2) }),
                                                   record(22, {}) }, 6, { 1, 2, 3, 4, 5, 6 }))
      assert.matches("is corrupt %(layer 2 %(Residual%): span is missing%)", err)
    end)
  end)

  describe("settings by name", function()
    it("a setting missing from a record takes its default (files older than the setting)", function()
      local p = H.write(path("defaults.bp"), file(2, {
        record(8, { setting("in_channels", 1, 1), setting("out_channels", 1, 2), setting("kernel_size", 2, { 3, 2 }) }),
        record(12, {}),
      }, 1 * 2 * 3 * 2 + 2, { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 }))
      local net = bp.load(p)
      assert.equal("backprop.Sequential {\n  Conv2d(1 -> 2, kernel 3x2, stride 1, padding 0)\n  Dropout(0.5)\n}",
                   tostring(net))
    end)

    it("settings in any order", function()
      local p = H.write(path("order.bp"), file(2, {
        record(20, { setting("threshold", 3, 4), setting("beta", 3, 2) }),
      }, 0))
      assert.equal("backprop.Sequential {\n  Softplus(beta 2, threshold 4)\n}", tostring(bp.load(p)))
    end)

    it("a setting this build does not know is refused, naming it", function()
      local err, p = load_err("newer.bp", file(2, { record(12, { setting("p", 3, 0.5), setting("q", 3, 1) }) }, 0))
      assert.equal("backprop.load: '" .. p .. "' has layer 1 (Dropout) with a setting 'q' that this build "
                   .. "does not know (written by a newer backprop?)", err)
    end)

    it("a kind this build does not know is refused", function()
      local err = load_err("kind.bp", file(2, { record(9999, {}) }, 0))
      assert.matches("has layer 1 of unknown kind 9999 %(written by a newer backprop%?%)", err)
    end)

    it("a required setting missing, a wrong type, twice, out of bounds: corrupt, naming the layer", function()
      local cases = {
        { { setting("in_features", 1, 2) }, "layer 1 %(Linear%): out_features is missing" },
        { { setting("in_features", 3, 2), setting("out_features", 1, 2) },
          "layer 1 %(Linear%): setting 'in_features' of type 3, expected 1" },
        { { setting("in_features", 1, 2), setting("in_features", 1, 2) }, "setting 'in_features' twice" },
        { { setting("in_features", 1, 0), setting("out_features", 1, 2) },
          "in_features must be a positive integer, got 0" },
      }
      for i, c in ipairs(cases) do
        local err = load_err("bad" .. i .. ".bp", file(2, { record(LINEAR, c[1]) }, 0))
        assert.matches("is corrupt %(", err)
        assert.matches(c[2], err)
      end
      local err = load_err("drop.bp", file(2, { record(12, { setting("p", 3, 1.5) }) }, 0))
      assert.matches("is corrupt %(layer 1 %(Dropout%): p must be between 0 and 1, got 1.5%)", err)
    end)

    it("a record with bytes after its state is corrupt", function()
      local r = record(12, { setting("p", 3, 0.5) })
      r = r:sub(1, 4) .. B.pack("<I4", B.unpack("<I4", r, 5) + 4) .. r:sub(9) .. "\0\0\0\0"
      assert.matches("is corrupt %(layer 1 %(Dropout%): record of 4 bytes for 0 state values%)",
                     load_err("extra.bp", file(2, { r }, 0)))
    end)
  end)
end)
