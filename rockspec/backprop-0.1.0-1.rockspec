rockspec_format = "3.0"
package = "backprop"
version = "0.1.0-1"

-- The release is the tag v0.1.0. `luarocks make` of this file builds the
-- checkout it sits in, offline; `make rock` packs that build into a binary
-- rock (luarocks pack). A source rock for a rocks server is packed from the
-- pushed tag: `luarocks pack rockspec/backprop-0.1.0-1.rockspec`.
source = {
   url = "git+https://github.com/backprop-lua/backprop",
   tag = "v0.1.0",
}

description = {
   summary = "Neural networks for Lua 5.1 to 5.4 and LuaJIT, with a C99 core",
   detailed = [[
backprop is a small neural-network library: dense tensors, linear layers,
activations, softmax, losses, optimisers and a training loop, written in
portable C99 and exposed to Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT 2.1 through
the backprop.core module, with Lua helpers for data loading, metrics and
fitting.
]],
   homepage = "https://github.com/backprop-lua/backprop",
   license = "MIT",
   labels = { "machine-learning", "neural-network" },
}

dependencies = {
   "lua >= 5.1, < 5.5",
}

-- Every src/core/*/*.c, src/lua/*.c and src/backprop/*.lua must be listed here
-- and in the other rockspec of this folder; spec/install_spec.lua (make
-- test) fails and names any file that is not.
build = {
   type = "builtin",
   modules = {
      ["backprop.core"] = {
         sources = {
            "src/core/base/alloc.c",
            "src/core/base/cpu.c",
            "src/core/base/rng.c",
            "src/core/base/status.c",
            "src/core/base/threadpool.c",
            "src/core/tensor/reduce.c",
            "src/core/tensor/tensor.c",
            "src/core/tensor/tview.c",
            "src/core/kernels/gemm.c",
            "src/core/kernels/gemm_avx2.c",
            "src/core/kernels/gemm_avx512.c",
            "src/core/kernels/gemm_portable.c",
            "src/core/kernels/image.c",
            "src/core/kernels/image_avx2.c",
            "src/core/kernels/image_avx512.c",
            "src/core/kernels/image_portable.c",
            "src/core/kernels/small.c",
            "src/core/kernels/update.c",
            "src/core/kernels/update_avx2.c",
            "src/core/kernels/update_avx512.c",
            "src/core/kernels/update_portable.c",
            "src/core/kernels/vmath.c",
            "src/core/kernels/vmath_avx2.c",
            "src/core/kernels/vmath_avx512.c",
            "src/core/nn/activation.c",
            "src/core/nn/chain.c",
            "src/core/nn/conv.c",
            "src/core/nn/dropout.c",
            "src/core/nn/embedding.c",
            "src/core/nn/flatten.c",
            "src/core/nn/layer.c",
            "src/core/nn/linear.c",
            "src/core/nn/loss.c",
            "src/core/nn/net.c",
            "src/core/nn/norm.c",
            "src/core/nn/pool2d.c",
            "src/core/nn/prelu.c",
            "src/core/nn/registry.c",
            "src/core/nn/residual.c",
            "src/core/nn/settings.c",
            "src/core/nn/softmax.c",
            "src/core/train/clip.c",
            "src/core/train/optim.c",
            "src/core/train/train.c",
            "src/core/io/crc32.c",
            "src/core/io/csv.c",
            "src/core/io/file.c",
            "src/core/io/idx.c",
            "src/core/io/inflate.c",
            "src/core/io/model_v1.c",
            "src/core/io/safetensors.c",
            "src/core/io/serialize.c",
            "src/lua/lbackprop.c",
            "src/lua/lcheck.c",
            "src/lua/lcompose.c",
            "src/lua/ldata.c",
            "src/lua/lio.c",
            "src/lua/llayers.c",
            "src/lua/lloss.c",
            "src/lua/lmodule.c",
            "src/lua/loptim.c",
            "src/lua/lpass.c",
            "src/lua/lrandom.c",
            "src/lua/lsave.c",
            "src/lua/ltbase.c",
            "src/lua/ltensor.c",
            "src/lua/ltext.c",
            "src/lua/lthreads.c",
            "src/lua/ltrain.c",
            "src/lua/ltview.c",
         },
         incdirs = { "src/core" },
         libraries = { "m", "pthread" },
      },
      ["backprop"] = "src/backprop/init.lua",
      ["backprop.data"] = "src/backprop/data.lua",
      ["backprop.metrics"] = "src/backprop/metrics.lua",
      ["backprop.plot"] = "src/backprop/plot.lua",
      ["backprop.pytorch"] = "src/backprop/pytorch.lua",
      ["backprop.safetensors"] = "src/backprop/safetensors.lua",
      ["backprop.onnx"] = "src/backprop/onnx.lua",
      ["backprop.predict"] = "src/backprop/predict.lua",
      ["backprop.fit"] = "src/backprop/fit.lua",
      ["backprop.explain"] = "src/backprop/explain.lua",
      ["backprop.progress"] = "src/backprop/progress.lua",
      ["backprop.schedule"] = "src/backprop/schedule.lua",
      ["backprop.checkpoint"] = "src/backprop/checkpoint.lua",
      ["backprop.check"] = "src/backprop/check.lua",
      ["backprop.compat"] = "src/backprop/compat.lua",
      ["backprop.ffi"] = "src/backprop/ffi.lua",
   },
   -- The documentation goes into the rock's docs/ (`luarocks doc backprop`).
   -- LuaRocks copies either copy_directories or the top-level README,
   -- LICENSE and *.md, not both, so those are installed beside API.md here.
   -- types/ holds the LuaLS annotations, for editors: point LuaLS's
   -- workspace.library at `$(luarocks show --rock-dir backprop)/types`.
   copy_directories = { "docs", "types" },
   install = {
      conf = {
         ["../docs/README.md"] = "README.md",
         ["../docs/CHANGELOG.md"] = "CHANGELOG.md",
         ["../docs/LICENSE"] = "LICENSE",
      },
   },
}
