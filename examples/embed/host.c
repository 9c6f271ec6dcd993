/*
** host.c: a C program that embeds Lua 5.4 and links backprop statically,
** as a game engine or a tool would: libbackprop_lua.a (the Lua module and
** its Lua files, compiled in) and libbackprop.a (the core), so the
** executable is all it needs. Each Lua state opens backprop with
** luaL_requiref(L, "backprop", luaopen_backprop, 0) (src/embed/embed.h);
** the host's own scripts, examples/embed/game.lua and train.lua, are
** compiled in the same way (tools/embed_lua.lua).
**
**   host infer MODEL INPUTS FRAMES
**       loads MODEL (a network taking INPUTS values) once, then runs it
**       every frame, as a game would, through game.lua; prints the first
**       frames' output sums and a checksum of them all (%.17g)
**   host train DIR
**       runs train.lua in two Lua states in two threads at the same time,
**       then in one state alone; each saves its network (DIR/alone.bpnet,
**       DIR/thread1.bpnet, DIR/thread2.bpnet) and prints its loss and
**       outputs. Exits 1 unless the three are the same, files byte for
**       byte.
**
**   make embed                 builds build/embed/host
**   make tsan-embed            the same under ThreadSanitizer, running `train`
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "lauxlib.h"
#include "lualib.h"

/* game.lua and train.lua (build/embed/host_lua.c). */
extern const lbp_source host_sources[];

/* The state's set-up, run protected: the standard libraries, backprop,
** the host's scripts. */
static int setup(lua_State *L) {
  luaL_openlibs(L);
  luaL_requiref(L, "backprop", luaopen_backprop, 0);
  lua_pop(L, 1);
  lbp_preload(L, host_sources);
  return 0;
}

/* A new state with backprop open, or NULL with a message in err. */
static lua_State *new_state(char *err, size_t len) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    snprintf(err, len, "cannot make a Lua state: out of memory");
    return NULL;
  }
  lua_pushcfunction(L, setup);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    snprintf(err, len, "%s", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  return L;
}

/* Push require(module)[field]; protected by the caller's pcall. */
static void get_function(lua_State *L, const char *module, const char *field) {
  lua_getglobal(L, "require");
  lua_pushstring(L, module);
  lua_call(L, 1, 1);
  if (field != NULL) {
    lua_getfield(L, -1, field);
    lua_remove(L, -2);
  }
}

/* --- infer ---------------------------------------------------------------- */

typedef struct infer_args {
  const char *model;
  lua_Integer inputs, frames;
} infer_args;

/* The frame loop, in C as a game engine's would be; Lua runs each frame. */
static int infer_frames(lua_State *L) {
  const infer_args *a = lua_touserdata(L, 1);
  double checksum = 0.0;
  lua_Integer i;
  get_function(L, "game", "load");
  lua_pushstring(L, a->model);
  lua_pushinteger(L, a->inputs);
  lua_call(L, 2, 0);
  get_function(L, "game", "frame");      /* kept at index 2 */
  for (i = 1; i <= a->frames; i++) {
    double sum;
    lua_pushvalue(L, 2);
    lua_pushinteger(L, i);
    lua_call(L, 1, 1);
    sum = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (i <= 3) printf("frame %lld %.17g\n", (long long)i, sum);
    checksum += sum;
  }
  printf("checksum over %lld frames %.17g\n", (long long)a->frames, checksum);
  return 0;
}

static int infer(const char *model, const char *inputs, const char *frames) {
  infer_args a;
  char err[512];
  lua_State *L;
  a.model = model;
  a.inputs = strtol(inputs, NULL, 10);
  a.frames = strtol(frames, NULL, 10);
  if (a.inputs < 1 || a.frames < 1) {
    fprintf(stderr, "host infer: INPUTS and FRAMES must be positive\n");
    return 2;
  }
  L = new_state(err, sizeof err);
  if (L == NULL) {
    fprintf(stderr, "host: %s\n", err);
    return 1;
  }
  lua_pushcfunction(L, infer_frames);
  lua_pushlightuserdata(L, &a);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "host infer: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return 1;
  }
  lua_close(L);
  return 0;
}

/* --- train ---------------------------------------------------------------- */

typedef struct run {
  char path[1024];
  double loss, outputs;
  int ok;
  char err[512];
} run;

static int train_chunk(lua_State *L) {
  run *r = lua_touserdata(L, 1);
  get_function(L, "train", NULL);
  lua_pushstring(L, r->path);
  lua_call(L, 1, 2);
  r->loss = lua_tonumber(L, -2);
  r->outputs = lua_tonumber(L, -1);
  return 0;
}

/* train.lua in a Lua state of its own (any thread may call this). */
static void *train_in_state(void *arg) {
  run *r = arg;
  lua_State *L = new_state(r->err, sizeof r->err);
  r->ok = 0;
  if (L == NULL) return NULL;
  lua_pushcfunction(L, train_chunk);
  lua_pushlightuserdata(L, r);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK)
    snprintf(r->err, sizeof r->err, "%s", lua_tostring(L, -1));
  else
    r->ok = 1;
  lua_close(L);
  return NULL;
}

/* The whole file at path (*n bytes), or NULL. */
static char *slurp(const char *path, long *n) {
  FILE *f = fopen(path, "rb");
  char *data = NULL;
  if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (*n = ftell(f)) >= 0 &&
      fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)*n + 1)) != NULL &&
      fread(data, 1, (size_t)*n, f) != (size_t)*n) {
    free(data);
    data = NULL;
  }
  if (f != NULL) fclose(f);
  return data;
}

static int train(const char *dir) {
  run r[3];
  pthread_t th[2];
  const char *names[3] = {"alone", "thread1", "thread2"};
  char *bytes[3];
  long len[3];
  int k, same = 1, failed = 0;
  for (k = 0; k < 3; k++)
    snprintf(r[k].path, sizeof r[k].path, "%s/%s.bpnet", dir, names[k]);
  /* Two at the same time first, so that whatever the library sets up on
  ** first use (the kernels' choice, the threads' workspaces) is set up by
  ** both at once; then one alone. */
  for (k = 0; k < 2; k++)
    if (pthread_create(&th[k], NULL, train_in_state, &r[k + 1]) != 0) {
      fprintf(stderr, "host train: cannot start a thread\n");
      return 1;
    }
  for (k = 0; k < 2; k++) pthread_join(th[k], NULL);
  train_in_state(&r[0]);
  for (k = 0; k < 3; k++) {
    if (!r[k].ok) {
      fprintf(stderr, "host train (%s): %s\n", names[k], r[k].err);
      failed = 1;
      continue;
    }
    printf("%-8s loss %.17g  outputs %.17g  %s\n", names[k], r[k].loss,
           r[k].outputs, r[k].path);
  }
  if (failed) return 1;
  for (k = 0; k < 3; k++) {
    bytes[k] = slurp(r[k].path, &len[k]);
    if (bytes[k] == NULL) {
      fprintf(stderr, "host train: cannot read %s\n", r[k].path);
      same = 0;
    }
  }
  for (k = 1; k < 3 && same; k++)
    same = len[k] == len[0] &&
           memcmp(bytes[k], bytes[0], (size_t)len[0]) == 0 &&
           r[k].loss == r[0].loss && r[k].outputs == r[0].outputs;
  for (k = 0; k < 3; k++) free(bytes[k]);
  if (!same) {
    printf("the threads' runs differ from the one alone\n");
    return 1;
  }
  printf("the three runs are the same: files byte for byte (%ld bytes), "
         "losses and outputs\n", len[0]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "infer") == 0)
    return infer(argv[2], argv[3], argv[4]);
  if (argc == 3 && strcmp(argv[1], "train") == 0) return train(argv[2]);
  fprintf(stderr, "usage: host infer MODEL INPUTS FRAMES\n"
                  "       host train DIR\n");
  return 2;
}
