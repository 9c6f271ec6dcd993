-- fuzz/make_seeds.lua: writes the seed corpora in fuzz/corpus/<target>/
-- (committed; run again only to change them). From the checkout, after
-- `make`, with gzip on PATH:
--
--   LUA_PATH="src/?.lua;src/?/init.lua;;" LUA_CPATH="build/?.so;;" lua5.4 fuzz/make_seeds.lua
--
-- Seeds are small on purpose: the spec fixtures of each format (model
-- files of every version and layer kind, gzip IDX files, PyTorch's
-- safetensors), a few files written here for what the fixtures lack
-- (format 3 sections, plain IDX of every type, CSV dialects), and nothing
-- the fuzzer finds by itself in seconds.

local bp = require("backprop")

local OUT = "fuzz/corpus/"

local function write(target, name, bytes)
  local f = assert(io.open(OUT .. target .. "/" .. name, "wb"))
  f:write(bytes)
  f:close()
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function copy(target, paths, prefix)
  for path in paths:gmatch("[^\n]+") do
    write(target, (prefix or "") .. path:match("[^/]+$"), read(path))
  end
end

local function ls(pattern)
  local p = assert(io.popen("ls " .. pattern))
  local s = p:read("*a")
  p:close()
  return s
end

local function gzip(bytes)
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "wb"))
  f:write(bytes)
  f:close()
  local p = assert(io.popen("gzip -9 -n -c " .. tmp))
  local z = p:read("*a")
  p:close()
  os.remove(tmp)
  return z
end

-- Big-endian unsigned integer of n bytes.
local function be(v, n)
  local b = {}
  for i = n, 1, -1 do
    b[i] = string.char(v % 256)
    v = math.floor(v / 256)
  end
  return table.concat(b)
end

for _, t in ipairs({ "model_load", "idx_read", "gunzip", "csv_read", "safetensors_read", "lua_load" }) do
  os.execute("mkdir -p " .. OUT .. t)
end

-- model_load: every fixture, and format 3 with sections.
copy("model_load", ls("spec/fixtures/models/v1_mlp.bp"))
copy("model_load", ls("spec/fixtures/models/v2/*.bp"), "v2_")
local dir = OUT .. "model_load/"
bp.manual_seed(1)
bp.Sequential{
  bp.Linear(4, 6), bp.PReLU(6), bp.BatchNorm1d(6), bp.Dropout(0.3), bp.GELU(),
  bp.Residual(bp.Sequential{bp.Linear(6, 6), bp.ELU(), bp.LayerNorm(6)}),
  bp.SiLU(), bp.Softplus(), bp.LeakyReLU(0.1), bp.Identity(), bp.Linear(6, 3), bp.LogSoftmax(),
}:save(dir .. "v3_mlp_every_kind.bp", {classes = {"a", "b", "c"}, meta = {note = "seed"}})
bp.Sequential{
  bp.Conv2d(2, 3, 3, {padding = 1, stride = 2}), bp.BatchNorm2d(3), bp.ReLU(), bp.MaxPool2d(2),
  bp.Conv2d(3, 2, 1), bp.AvgPool2d(1), bp.Flatten(), bp.Linear(2, 2), bp.Sigmoid(), bp.Tanh(),
  bp.Softmax(),
}:save(dir .. "v3_cnn.bp")
bp.Sequential{bp.Embedding(5, 3), bp.Flatten(), bp.Linear(6, 2)}:save(dir .. "v3_embedding.bp")
local small = bp.Sequential{bp.Linear(2, 2), bp.Tanh(), bp.Linear(2, 1)}
local opt = bp.Adam(small, {lr = 0.01})
small:fit(bp.randn(8, 2), bp.randn(8, 1), {loss = bp.MSELoss(), optimizer = opt, epochs = 2, batch_size = 4})
bp.checkpoint.save(dir .. "v3_checkpoint.bp", {net = small, optimizer = opt, epoch = 2})

-- idx_read: the gzip fixtures, and a small plain file of every type.
local gz = ls("spec/fixtures/idx/*.gz")
copy("idx_read", gz)
local types = { {0x08, 1}, {0x09, 1}, {0x0B, 2}, {0x0C, 4}, {0x0D, 4}, {0x0E, 8} }
for _, t in ipairs(types) do
  local body = {}
  for i = 1, 6 * t[2] do body[i] = string.char((i * 37 + t[1]) % 256) end
  local file = "\0\0" .. string.char(t[1]) .. "\2" .. be(2, 4) .. be(3, 4) .. table.concat(body)
  write("idx_read", ("plain_%02x.idx"):format(t[1]), file)
  if t[1] == 0x0D then write("idx_read", "gzip_0d.idx.gz", gzip(file)) end
end
write("idx_read", "plain_1d.idx", "\0\0\8\1" .. be(4, 4) .. "\1\2\3\4")

-- gunzip: the same gzip files, text in one and two members, an empty one.
copy("gunzip", gz)
write("gunzip", "text.gz", gzip(("backprop fuzz seed "):rep(40)))
write("gunzip", "two_members.gz", gzip("first member\n") .. gzip("second member\n"))
write("gunzip", "empty.gz", gzip(""))

-- csv_read: the option byte (see fuzz/csv_read.c), then the file.
local function csv(name, opt, text) write("csv_read", name, string.char(opt) .. text) end
local iris = {}
for line in read("examples/data/iris.csv"):gmatch("[^\n]+") do
  if #iris < 12 then iris[#iris + 1] = line end
end
csv("iris_header_onehot.csv", 8 + 16 + 64, table.concat(iris, "\n") .. "\n")
csv("iris_ids.csv", 8 + 64, table.concat(iris, "\r\n"))
csv("semicolon_na.csv", 1 + 8 + 32 + 64, "a;b;c\n1,5;NA;x\n?;2e3;\"y;z\"\n-0;0x1F;\n")
csv("quotes_crlf.csv", 8, '"q ""1""",n\r\n"1",2\r\n" 3 ",4\r\n')
csv("bom_tab.csv", 2 + 8 + 64, "\239\187\191x\ty\n1\tred\n2\tblue\n3\tred\n")
csv("no_header.csv", 0, "1,2,3\n4,5,6\n\n7,8,9")
csv("cr_only.csv", 8 + 64, "a,b\r1,x\r2,y\r")
for i, cell in ipairs({ "1.5e3", " -0.000123 ", "123456789012345678901", "9007199254740993",
                        "1e-45", "3.4028235677973366e38", "0.1", "+7." }) do
  csv(("number_%d.csv"):format(i), 128, cell)
end

-- safetensors_read: PyTorch's files and the ONNX fixtures' weights.
copy("safetensors_read", ls("spec/fixtures/pytorch/*.safetensors"))
copy("safetensors_read", ls("spec/fixtures/onnx/*.safetensors"), "onnx_")

-- lua_load: the mode byte (see fuzz/lua_load.lua), then the file.
local function lua_seed(name, mode, bytes) write("lua_load", name, string.char(mode) .. bytes) end
local function lua_seeds(mode, paths, prefix)
  for p in paths:gmatch("[^\n]+") do lua_seed((prefix or "") .. p:match("[^/]+$"), mode, read(p)) end
end
-- 0 bp.load: the metadata of a classifier and of a regression.
lua_seeds(0, dir .. "v3_mlp_every_kind.bp\n" .. dir .. "v2_linear.bp\n" .. dir .. "v1_mlp.bp", "load_")
bp.manual_seed(2)
local Xs, Y = bp.randn(12, 3), bp.randn(12, 2)
local scaler, yscaler = bp.data.standardize(Xs), bp.data.standardize(Y)
local reg = bp.Sequential{bp.Linear(3, 4), bp.ReLU(), bp.Linear(4, 2)}
local tmp = os.tmpname()
reg:save(tmp, {scaler = scaler, target_scaler = yscaler, task = "regression", meta = {epochs = 3, tags = {"a", "b"}}})
lua_seed("load_regression_scalers.bp", 0, read(tmp))
-- 1 checkpoints: bp.checkpoint.save's, and fit's with a scheduler,
-- validation and restore_best, and one with ReduceLROnPlateau.
lua_seeds(1, dir .. "v3_checkpoint.bp", "ckpt_")
local net = bp.Sequential{bp.Linear(3, 4), bp.Tanh(), bp.Linear(4, 2)}
local sgd = bp.SGD(net, {lr = 0.1, momentum = 0.9})
net:fit(Xs, Y, {loss = bp.MSELoss(), optimizer = sgd, epochs = 2, batch_size = 4, progress = false,
                scheduler = bp.lr_scheduler.StepLR(sgd, {step_size = 1, gamma = 0.5}),
                validation = {Xs, Y}, restore_best = true, checkpoint = tmp})
lua_seed("ckpt_fit_steplr.bp", 1, read(tmp))
local rms = bp.RMSprop(net, {lr = 0.01})
net:fit(Xs, Y, {loss = bp.MSELoss(), optimizer = rms, epochs = 1, batch_size = 6, progress = false,
                scheduler = bp.lr_scheduler.ReduceLROnPlateau(rms), checkpoint = tmp})
lua_seed("ckpt_fit_plateau.bp", 1, read(tmp))
os.remove(tmp)
-- 2, 3 net:load_safetensors into the MLP and the CNN; 4 bp.safetensors.load.
lua_seeds(2, ls("spec/fixtures/pytorch/mlp*.safetensors"), "mlp_")
lua_seeds(3, ls("spec/fixtures/pytorch/cnn*.safetensors"), "cnn_")
lua_seeds(4, ls("spec/fixtures/pytorch/dtypes.safetensors"), "st_")
-- 5 the section decoder.
local encode = require("backprop.core").internal.encode
lua_seed("decode_table.bin", 5, encode({1, 2.5, "x", true, false, {a = {b = -0.0}},
                                        t = bp.tensor({{1, 2}, {3, 4}}), [7] = "seven"}, "seeds", "v"))
lua_seed("decode_string.bin", 5, encode("backprop", "seeds", "v"))
-- 6 bp.data.read_csv: the CSV seeds without their option byte; 7 read_idx.
for f in ls(OUT .. "csv_read/*.csv"):gmatch("[^\n]+") do
  if not f:find("number_") then lua_seed("csv_" .. f:match("[^/]+$"), 6, read(f):sub(2)) end
end
lua_seed("csv_iris.csv", 6, read("examples/data/iris.csv"):sub(1, 600))
lua_seeds(7, ls(OUT .. "idx_read/plain_0*.idx") .. "\n" .. OUT .. "idx_read/u8_two_members.idx.gz", "idx_")
