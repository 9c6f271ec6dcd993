/*
** lpass.c: net:forward and net:backward, the passes as Lua calls them: a
** batch in a tensor (or one sample as a 1-D tensor), or one sample as a
** plain table of numbers, the path a game calls every frame.
*/
#include <stdio.h>
#include <string.h>

#include "lmodule.h"
#include "ltensor.h"

void lbp_tobatch(lua_State *L, const char *fn, const char *what,
                 const bp_tensor *t, lbp_batch *b) {
  int i;
  if (t->ndim > BP_SAMPLE_DIMS + 1) {
    lbp_shapebuf sb;
    lbp_error(L, fn, "%s has %d dimensions, at most %d are supported (N x C "
              "x H x W), got shape %s", what, t->ndim, BP_SAMPLE_DIMS + 1,
              lbp_shape(t, &sb));
  }
  b->unbatched = t->ndim == 1;
  b->n = b->unbatched ? 1 : t->shape[0];
  b->s.ndim = b->unbatched ? 1 : t->ndim - 1;
  for (i = 0; i < b->s.ndim; i++) b->s.d[i] = t->shape[i + !b->unbatched];
}

/* The tensor shape of n samples of shape s (unbatched: s alone). */
static int fullshape(const lbp_batch *b, const bp_shape *s, size_t *shape) {
  int i, off = b->unbatched ? 0 : 1;
  if (off) shape[0] = b->n;
  for (i = 0; i < s->ndim; i++) shape[i + off] = s->d[i];
  return s->ndim + off;
}

/* See lmodule.h. */
void lbp_checkinput(lua_State *L, const char *fn, lmodule *m,
                    const bp_tensor *x, lbp_batch *b, bp_shape *out,
                    int values) {
  lbp_shapebuf sb;
  bp_error err;
  lbp_tobatch(L, fn, "input", x, b);
  if (bp_net_out_shape(&m->net, b->n, &b->s, out, &err) != BP_OK)
    lbp_error(L, fn, "%s (input shape %s)", err.msg, lbp_shape(x, &sb));
  if (values && x->dtype == BP_FLOAT32)
    lbp_checkvalues_mt(L, x, m->net.pool, fn, "input");
}

/* --- net:forward(tbl [, outtbl]): the game path ----------------------
** One sample as a plain table of numbers, the outputs into a table
** (outtbl, reused, or a new one). A game calls it every frame, so it
** allocates nothing once warm and does as few Lua API calls as it can:
** self is checked by comparing its metatable with the one m_forward holds
** as upvalue 1 (no registry lookup by name), each entry costs one
** lua_rawgeti and one lua_tonumberx, and the function name for messages
** is formatted only when an error is raised. Everything unusual (a
** numeric string, a bad entry) leaves the loop for entry() below. */

/* The module at 1, open, when the input at 2 is a table; else NULL (the
** general path then checks everything and raises the usual errors). */
static lmodule *table_self(lua_State *L) {
  lmodule *m = NULL;
  if (lua_type(L, 2) != LUA_TTABLE || lua_type(L, 1) != LUA_TUSERDATA ||
      !lua_getmetatable(L, 1))
    return NULL;
  if (lua_rawequal(L, -1, lua_upvalueindex(1))) m = lua_touserdata(L, 1);
  lua_pop(L, 1);
  return m != NULL && !m->closed ? m : NULL;
}

/* input[i + 1], on top of the stack, when it is not a finite number
** already read: converts a numeric string, raises the error otherwise. */
static lua_Number entry(lua_State *L, lmodule *m, size_t i) {
  lbp_fname b;
  int isnum;
  lua_Number v = lua_tonumberx(L, -1, &isnum);
  if (!isnum)
    lbp_error(L, lbp_fname_of(m, "forward", &b), "input[%lu] must be a "
              "number, got %s (a table input is one sample: a flat sequence "
              "of numbers; batches go in a backprop.Tensor)",
              (unsigned long)i + 1, luaL_typename(L, -1));
  if (v - v != 0)                              /* NaN or infinity */
    lbp_error(L, lbp_fname_of(m, "forward", &b), "input[%lu] must be "
              "finite, got %s", (unsigned long)i + 1, lua_tostring(L, -1));
  return v;
}

/* Entries are pushed and read a chunk at a time and dropped with one
** settop (a pop per entry costs more than the read); LUA_MINSTACK slots
** are free. */
#define CHUNK 16

static int forward_table(lua_State *L, lmodule *m) {
  lbp_fname b;
  bp_error err;
  bp_shape in;
  const bp_shape *os;
  const float *y;
  float *row;
  size_t i, k, w = (size_t)lua_rawlen(L, 2);
  int out = lua_type(L, 3), top = lua_gettop(L);
  if (out != LUA_TNONE && out != LUA_TNIL && out != LUA_TTABLE)
    lbp_error(L, lbp_fname_of(m, "forward", &b), "out must be a table when the "
              "input is a table, got %s", luaL_typename(L, 3));
  if (w == 0)
    lbp_error(L, lbp_fname_of(m, "forward", &b), "input is an empty table (expected "
              "a sequence of numbers)");
  if (w > m->row_cap) {
    row = bp_alloc(w);
    if (row == NULL) lbp_error(L, lbp_fname_of(m, "forward", &b), "out of memory");
    bp_free(m->row);
    m->row = row;
    m->row_cap = w;
  }
  row = m->row;
  for (i = 0; i < w; i += CHUNK) {
    size_t nk = w - i < CHUNK ? w - i : CHUNK;
    for (k = i; k < i + nk; k++) {
      int t = lua_rawgeti(L, 2, (lua_Integer)k + 1);
      lua_Number v = t == LUA_TNUMBER ? lua_tonumberx(L, -1, NULL) : 0;
      if (t != LUA_TNUMBER || v - v != 0) v = entry(L, m, k);
      row[k] = (float)v;
    }
    lua_settop(L, top);
  }
  in.ndim = 1;
  in.d[0] = w;
  m->net.rng = m->rng;
  m->net.pool = m->pool != NULL ? *m->pool : NULL;
  lbp_ensure_init(L, m);
  if (bp_net_forward(&m->net, row, 1, &in, &err) != BP_OK)
    lbp_error(L, lbp_fname_of(m, "forward", &b), "%s (input: a table of %lu "
              "numbers)", err.msg, (unsigned long)w);
  os = &m->net.shape[m->net.nlayers];
  if (os->ndim != 1)
    lbp_error(L, lbp_fname_of(m, "forward", &b), "a table input needs a network "
              "whose output is one vector, got samples of %d dimensions",
              os->ndim);
  y = bp_net_output(&m->net);
  if (out == LUA_TTABLE) lua_settop(L, 3);
  else lua_createtable(L, (int)os->d[0], 0);
  for (i = 0; i < os->d[0]; i++) {
    lua_pushnumber(L, y[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* net:forward(x [, out]); upvalue 1: the module metatable. */
static int m_forward(lua_State *L) {
  lbp_fname b;
  lmodule *m = table_self(L);
  ltensor *x, *y;
  size_t shape[BP_SAMPLE_DIMS + 1];
  bp_shape os;
  lbp_batch in;
  int nd;
  bp_error err;
  if (m != NULL) return forward_table(L, m);
  m = lbp_modself(L, "forward", &b);
  x = lbp_checktensor(L, 2, b.s, "input");
  lbp_checkinput(L, b.s, m, &x->t, &in, &os, 1);
  nd = fullshape(&in, &os, shape);
  if (!lua_isnoneornil(L, 3)) {
    lbp_shapebuf s1, s2;
    bp_tensor want;
    y = lbp_checkouttensor(L, 3, b.s, "out");
    bp_tensor_view(&want, NULL, nd, shape);
    if (y->t.ndim != nd || memcmp(y->t.shape, shape, nd * sizeof *shape) != 0)
      lbp_error(L, b.s, "out has shape %s, expected %s", lbp_shape(&y->t, &s1),
                lbp_shape(&want, &s2));
    lua_settop(L, 3);
  } else {
    y = lbp_newtensor(L, nd, shape, b.s);
  }
  lbp_ensure_init(L, m);
  if (bp_net_forward(&m->net, x->t.data, in.n, &in.s, &err) != BP_OK)
    lbp_error(L, b.s, "%s", err.msg);
  memcpy(y->t.data, bp_net_output(&m->net), y->t.numel * sizeof(float));
  return 1;
}

/* net:backward(dy): returns dL/dinput, a tensor the module reuses. dy is
** batched or not, as the input was (one sample: the output shape alone). */
static int m_backward(lua_State *L) {
  lbp_fname b;
  lmodule *m = lbp_modself(L, "backward", &b);
  ltensor *dy = lbp_checktensor(L, 2, b.s, "gradient"), *dx;
  size_t shape[BP_SAMPLE_DIMS + 1];
  const float *g;
  bp_error err;
  lbp_shapebuf sb;
  lbp_batch gb;
  int nd;
  if (m->net.batch > 0) {
    int d = m->net.shape[m->net.nlayers].ndim;
    if (dy->t.ndim != d && dy->t.ndim != d + 1)
      lbp_error(L, b.s, "gradient must be %d-D or %d-D, got shape %s", d,
                d + 1, lbp_shape(&dy->t, &sb));
    gb.unbatched = dy->t.ndim == d;
    gb.n = gb.unbatched ? 1 : dy->t.shape[0];
    gb.s.ndim = d;
    for (nd = 0; nd < d; nd++) gb.s.d[nd] = dy->t.shape[nd + !gb.unbatched];
  } else {
    lbp_tobatch(L, b.s, "gradient", &dy->t, &gb);
  }
  lbp_checkvalues(L, &dy->t, b.s, "gradient");
  if (bp_net_backward(&m->net, dy->t.data, gb.n, &gb.s, &g, &err) != BP_OK)
    lbp_error(L, b.s, "%s", err.msg);
  /* Reuse the cached gradInput tensor when its shape still fits. */
  nd = fullshape(&gb, &m->net.shape[0], shape);
  lbp_module_links(L, 1);
  lua_getfield(L, -1, "dx");
  dx = luaL_testudata(L, -1, LBP_TENSOR);
  if (dx == NULL || dx->closed || dx->t.ndim != nd ||
      memcmp(dx->t.shape, shape, nd * sizeof *shape) != 0) {
    dx = lbp_newtensor(L, nd, shape, b.s);
    lua_pushvalue(L, -1);
    lua_setfield(L, -4, "dx");
  }
  memcpy(dx->t.data, g, dx->t.numel * sizeof(float));
  return 1;
}

/* --- the game path from LuaJIT's FFI ---------------------------------
** Under LuaJIT, src/backprop/ffi.lua runs net:forward(tbl, outtbl) through
** the FFI: it copies the table into a float array, calls lbp_ffi_forward
** below (a call the JIT compiles, where a C API call from a trace is a
** costly exit), and copies the outputs back. The maths is the same call
** of the core as forward_table's. Whatever this function will not do, it
** refuses with -1 before running anything, and the Lua side then makes
** the classic call, which does it or raises the usual error. The Lua side
** finds the function through internal.ffi, a light userdata pointing at
** lbp_ffi (so nothing needs exporting from the shared object), and a net's
** handle through internal.ffi_handle(net). Stable: version 1's layout. */

/* Forward one sample of nx floats at x (the handle's net), the outputs to
** y (room for cap floats). Returns the number of outputs, or -1 when the
** classic call must run instead: the module closed or its weights not yet
** drawn, a value of x not finite, an input the net refuses, an output not
** one vector or longer than cap. */
static int lbp_ffi_forward(void *handle, const float *x, size_t nx, float *y,
                           size_t cap) {
  lmodule *m = handle;
  const bp_shape *os;
  bp_shape in;
  bp_error err;
  float *row;
  size_t i;
  if (m->closed || !lbp_module_root(m)->initialized) return -1;
  for (i = 0; i < nx; i++)
    if (x[i] - x[i] != 0) return -1;              /* NaN or infinity */
  m->net.rng = m->rng;
  m->net.pool = m->pool != NULL ? *m->pool : NULL;
  in.ndim = 1;
  in.d[0] = nx;
  if (bp_net_input_buffer(&m->net, 1, &in, &row, &err) != BP_OK) return -1;
  os = &m->net.shape[m->net.nlayers];
  if (os->ndim != 1 || os->d[0] > cap) return -1;
  memcpy(row, x, nx * sizeof *x);
  if (bp_net_forward(&m->net, row, 1, &in, &err) != BP_OK) return -1;
  memcpy(y, bp_net_output(&m->net), os->d[0] * sizeof *y);
  return (int)os->d[0];
}

/* What internal.ffi points at; src/backprop/ffi.lua declares it as
** struct { int version; int (*forward)(...); }. */
static const struct {
  int version;
  int (*forward)(void *, const float *, size_t, float *, size_t);
} lbp_ffi = {1, lbp_ffi_forward};

/* internal.ffi_handle(net): the module's handle for lbp_ffi_forward, a
** light userdata (valid while net lives). */
static int l_ffi_handle(lua_State *L) {
  lua_pushlightuserdata(L, lbp_checkmodule(L, 1, "backprop.internal.ffi_handle",
                                           "net"));
  return 1;
}

static const luaL_Reg methods[] = {{"backward", m_backward}, {NULL, NULL}};

void lbp_open_passes(lua_State *L) {
  static const luaL_Reg internal[] = {
    {"ffi_handle", l_ffi_handle}, {NULL, NULL}
  };
  lbp_module_methods(L, methods, NULL);
  /* forward, with the module metatable as upvalue 1 (see table_self) */
  luaL_getmetatable(L, LBP_MODULE);
  lua_getfield(L, -1, "__index");
  lua_pushvalue(L, -2);
  lua_pushcclosure(L, m_forward, 1);
  lua_setfield(L, -2, "forward");
  lua_pop(L, 2);
  lbp_setinternal(L, internal);
  lua_getfield(L, -1, "internal");
  lua_pushlightuserdata(L, (void *)&lbp_ffi);
  lua_setfield(L, -2, "ffi");
  lua_pop(L, 1);
}
