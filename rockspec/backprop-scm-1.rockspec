rockspec_format = "3.0"
package = "backprop"
version = "scm-1"

source = {
   url = "git+https://github.com/backprop-lua/backprop",
}

description = {
   summary = "Neural networks for Lua 5.4 with a C99 core",
   detailed = [[
backprop is a small neural-network library: dense tensors, linear layers,
activations, softmax, losses, optimisers and a training loop, written in
portable C99 and exposed to Lua 5.4 through the backprop.core module, with
Lua helpers for data loading, metrics and fitting.
]],
   homepage = "https://github.com/backprop-lua/backprop",
   license = "MIT",
   labels = { "machine-learning", "neural-network" },
}

dependencies = {
   "lua >= 5.4",
}

-- Every src/core/*.c, src/lua/*.c and src/backprop/*.lua must be listed here;
-- tools/test.sh (make test) fails and names any file that is not.
build = {
   type = "builtin",
   modules = {
      ["backprop.core"] = {
         sources = {
            "src/core/status.c",
            "src/core/rng.c",
            "src/core/tensor.c",
            "src/core/cpu.c",
            "src/core/gemm.c",
            "src/core/gemm_portable.c",
            "src/core/gemm_avx2.c",
            "src/core/gemm_avx512.c",
            "src/core/pool.c",
            "src/core/pooling.c",
            "src/core/layer.c",
            "src/core/linear.c",
            "src/core/small.c",
            "src/core/activation.c",
            "src/core/softmax.c",
            "src/core/conv.c",
            "src/core/flatten.c",
            "src/core/dropout.c",
            "src/core/norm.c",
            "src/core/embedding.c",
            "src/core/net.c",
            "src/core/loss.c",
            "src/core/clip.c",
            "src/core/optim.c",
            "src/core/train.c",
            "src/core/serialize.c",
            "src/core/vmath.c",
            "src/core/tview.c",
            "src/core/reduce.c",
            "src/core/crc32.c",
            "src/core/inflate.c",
            "src/core/idx.c",
            "src/core/vmath_avx2.c",
            "src/core/vmath_avx512.c",
            "src/lua/lbackprop.c",
            "src/lua/ltensor.c",
            "src/lua/ltview.c",
            "src/lua/lmodule.c",
            "src/lua/llayers.c",
            "src/lua/lloss.c",
            "src/lua/loptim.c",
            "src/lua/ldata.c",
            "src/lua/lthreads.c",
         },
         incdirs = { "src/core" },
         libraries = { "m", "pthread" },
      },
      ["backprop"] = "src/backprop/init.lua",
      ["backprop.data"] = "src/backprop/data.lua",
      ["backprop.metrics"] = "src/backprop/metrics.lua",
      ["backprop.fit"] = "src/backprop/fit.lua",
      ["backprop.schedule"] = "src/backprop/schedule.lua",
      ["backprop.check"] = "src/backprop/check.lua",
   },
}
