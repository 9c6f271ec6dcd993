/*
** lua_load.c: libFuzzer target for what the Lua face makes of a file:
** bp.load with its predictor metadata, bp.checkpoint.load and restore
** (optimizer, scheduler and generator states), net:load_safetensors,
** bp.safetensors.load, and the section decoder they share
** (internal.decode, src/lua/lsave.c). The binding and the Lua modules run
** as users get them, in one Lua 5.4 state made at start; the checks are
** in fuzz/lua_load.lua, which says what each mode does and what must hold.
**
** The input's first byte picks the mode (lua_load.lua's MODES), the rest
** is the file. A model file's last four bytes are replaced by the right
** CRC-32 first, so that mutations reach the records and the sections (the
** model_load target checks the checksum itself). Run from the checkout's
** root (fuzz/run.sh does): the modules are read from src/ and spec/.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "fuzz.h"
#include "io/crc32.h"

int luaopen_backprop_core(lua_State *L);

static lua_State *L;
static int nmodes, crc_modes;   /* modes below crc_modes are model files */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  L = luaL_newstate();
  fuzz_check(L != NULL, "cannot make a Lua state");
  luaL_openlibs(L);
  /* The binding linked in here, the Lua modules from the checkout. */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_backprop_core);
  lua_setfield(L, -2, "backprop.core");
  lua_pop(L, 1);
  if (luaL_dostring(L, "package.path = 'src/?.lua;src/?/init.lua;' .. package.path") ||
      luaL_dofile(L, "fuzz/lua_load.lua"))
    fuzz_fail(__FILE__, __LINE__, "setup", "%s (run from the checkout's root)",
              lua_tostring(L, -1));
  /* It returns the function that takes one input, and the mode counts. */
  fuzz_check(lua_isfunction(L, -3), "fuzz/lua_load.lua returns no function");
  nmodes = (int)lua_tointeger(L, -2);
  crc_modes = (int)lua_tointeger(L, -1);
  fuzz_check(nmodes > 0 && crc_modes <= nmodes, "bad mode counts");
  lua_pop(L, 2);
  lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.one");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int mode;
  uint8_t *file;
  const char *path;
  if (size == 0) return 0;
  mode = data[0] % nmodes;
  data++;
  size--;
  file = malloc(size + 1);
  fuzz_check(file != NULL, "out of memory");
  memcpy(file, data, size);
  if (mode < crc_modes && size >= 4) {
    uint32_t crc = bp_crc32(0, file, size - 4);
    file[size - 4] = (uint8_t)crc;
    file[size - 3] = (uint8_t)(crc >> 8);
    file[size - 2] = (uint8_t)(crc >> 16);
    file[size - 1] = (uint8_t)(crc >> 24);
  }
  path = fuzz_write("input", file, size);
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.one");
  lua_pushinteger(L, mode);
  lua_pushstring(L, path);
  lua_pushlstring(L, (const char *)file, size);
  lua_pushstring(L, fuzz_path("saved"));
  free(file);
  /* An error out of the driver, or a message back, is a finding. */
  if (lua_pcall(L, 4, 1, 0) != LUA_OK || !lua_isnil(L, -1))
    fuzz_fail(__FILE__, __LINE__, "lua_load.lua", "mode %d: %s", mode,
              luaL_tolstring(L, -1, NULL));
  lua_pop(L, 1);
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
