/*
** lio.c: the C side of moving networks to and from PyTorch. The Lua face
** does the rest (src/backprop/pytorch.lua: names and code,
** safetensors.lua, onnx.lua); everything here is in core.internal, and
** `fn` arguments name the public function for messages:
**
**   st_read(path, fn) -> file, entries, metadata
**       a safetensors file parsed (io/safetensors.h); entries {name =,
**       dtype =, shape = {...}} in the header's order, metadata a table
**   st_copy(file, i, tensor, fn)   entry i's values into a float32 tensor
**   st_tensor(file, i, fn) -> tensor   entry i as a new tensor
**   st_write(path, names, values, metadata, fn)
**       values[k] a tensor (float32: F32, uint8: U8) or an integer (an
**       I64 scalar); metadata nil or string -> string, written sorted
**   layer_info(module) -> name, settings   (settings: nil for containers)
**   out_shape(module, shape, fn) -> shape  in eval mode, batch first
**   f32_bytes(number | tensor) -> string   float32, little-endian
*/
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "io/bytes.h"
#include "io/safetensors.h"
#include "lio.h"
#include "lmodule.h"
#include "ltensor.h"

#define LBP_STFILE "backprop.SafetensorsFile"

/* A file st_read parsed, and its path: what a message about one of its
** tensors names. */
typedef struct stfile {
  bp_st_file f;
  char path[];              /* as long as the path is (C99) */
} stfile;

static const char *checkfn(lua_State *L, int idx) {
  const char *fn = lua_tostring(L, idx);
  return fn != NULL ? fn : "backprop.safetensors";
}

static const char *checkpath(lua_State *L, int idx, const char *fn) {
  size_t len;
  const char *path;
  if (lua_type(L, idx) != LUA_TSTRING)
    lbp_error(L, fn, "path must be a string, got %s", luaL_typename(L, idx));
  path = lua_tolstring(L, idx, &len);
  if (strlen(path) != len) lbp_error(L, fn, "path holds a zero byte");
  return path;
}

/* --- reading ------------------------------------------------------------ */

static int stfile_gc(lua_State *L) {
  bp_st_free(luaL_checkudata(L, 1, LBP_STFILE));
  return 0;
}

static void push_shape(lua_State *L, const bp_st_tensor *t) {
  int k;
  lua_createtable(L, t->ndim, 0);
  for (k = 0; k < t->ndim; k++) {
    lua_pushinteger(L, (lua_Integer)t->shape[k]);   /* < 2^53: sizes */
    lua_rawseti(L, -2, k + 1);
  }
}

static int l_st_read(lua_State *L) {
  const char *fn = checkfn(L, 2), *path = checkpath(L, 1, fn);
  size_t len = strlen(path), i;
  stfile *s = lbp_newuserdata(L, offsetof(stfile, path) + len + 1);
  bp_st_file *f = &s->f;
  bp_error err;
  memset(f, 0, sizeof *f);
  memcpy(s->path, path, len + 1);
  luaL_setmetatable(L, LBP_STFILE);
  if (bp_st_read(f, path, &err) != BP_OK) lbp_error(L, fn, "%s", err.msg);
  lbp_gc_report(L, f->data_len);
  lua_createtable(L, (int)f->ntensors, 0);
  for (i = 0; i < f->ntensors; i++) {
    const bp_st_tensor *t = &f->tensors[i];
    lua_createtable(L, 0, 3);
    lua_pushstring(L, t->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, bp_st_dtype_name(t->dtype));
    lua_setfield(L, -2, "dtype");
    push_shape(L, t);
    lua_setfield(L, -2, "shape");
    lua_rawseti(L, -2, (int)i + 1);
  }
  lua_createtable(L, 0, (int)f->nmeta);
  for (i = 0; i < f->nmeta; i++) {
    lua_pushstring(L, f->meta[i].value);
    lua_setfield(L, -2, f->meta[i].key);
  }
  return 3;
}

/* Entry i (1-based) of the file at 1. */
static const bp_st_tensor *checkentry(lua_State *L, stfile **s,
                                      const char *fn) {
  lua_Integer i;
  *s = luaL_checkudata(L, 1, LBP_STFILE);
  i = lua_isinteger(L, 2) ? lua_tointeger(L, 2) : 0;
  if (i < 1 || (size_t)i > (*s)->f.ntensors)
    lbp_error(L, fn, "no tensor %s in '%s'", lua_tostring(L, 2), (*s)->path);
  return &(*s)->f.tensors[i - 1];
}

/* Tensor t's values into n floats at out: float dtypes converted, integer
** dtypes when every value is exact in float32. */
static void to_floats(lua_State *L, const stfile *s,
                      const bp_st_tensor *t, float *out, const char *fn) {
  uint64_t i;
  if (bp_st_floats(&s->f, t, out)) return;
  for (i = 0; i < t->numel; i++) {
    int64_t v;
    if (!bp_st_int(&s->f, t, i, &v))
      lbp_error(L, fn, "'%s': tensor '%s' has dtype %s, which backprop does "
                "not read (F32, F64, F16, BF16 and integers are)", s->path,
                t->name, bp_st_dtype_name(t->dtype));
    if (v > (1 << 24) || v < -(1 << 24))
      lbp_error(L, fn, "'%s': tensor '%s' (%s) holds %lld, which float32 "
                "cannot hold exactly", s->path, t->name,
                bp_st_dtype_name(t->dtype), (long long)v);
    out[i] = (float)v;
  }
}

static int l_st_copy(lua_State *L) {
  const char *fn = checkfn(L, 4);
  stfile *s;
  const bp_st_tensor *t = checkentry(L, &s, fn);
  ltensor *dst = lbp_checkouttensor(L, 3, fn, "tensor");
  if ((uint64_t)dst->t.numel != t->numel)
    lbp_error(L, fn, "'%s': tensor '%s' has %llu values, expected %lu",
              s->path, t->name, (unsigned long long)t->numel,
              (unsigned long)dst->t.numel);
  to_floats(L, s, t, dst->t.data, fn);
  return 0;
}

/* A new tensor of entry i's shape (a scalar as shape {1}): uint8 for U8
** and BOOL, float32 for the others. */
static int l_st_tensor(lua_State *L) {
  const char *fn = checkfn(L, 3);
  stfile *s;
  const bp_st_tensor *t = checkentry(L, &s, fn);
  size_t shape[BP_MAXDIM] = {1};
  int k, nd = t->ndim > 0 ? t->ndim : 1;
  ltensor *dst;
  if (t->ndim > BP_MAXDIM)
    lbp_error(L, fn, "'%s': tensor '%s' has %d dimensions; backprop tensors "
              "have at most %d", s->path, t->name, t->ndim, BP_MAXDIM);
  for (k = 0; k < t->ndim; k++) {
    shape[k] = (size_t)t->shape[k];
    if (shape[k] == 0)
      lbp_error(L, fn, "'%s': tensor '%s' has no values (a dimension of size "
                "0), which backprop tensors cannot hold", s->path, t->name);
  }
  if (t->dtype == BP_ST_U8 || t->dtype == BP_ST_BOOL) {
    dst = lbp_newtensor_u8(L, nd, shape, fn);
    memcpy(dst->t.u8, s->f.data + t->begin, (size_t)t->numel);
    return 1;
  }
  dst = lbp_newtensor(L, nd, shape, fn);
  to_floats(L, s, t, dst->t.data, fn);
  return 1;
}

/* --- writing ------------------------------------------------------------ */

static int by_string(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The metadata table at idx as key, value pairs sorted by key, in a block
** on the stack (its strings are the table's, alive while it is). */
static const char **metadata(lua_State *L, int idx, size_t *n,
                             const char *fn) {
  const char **kv;
  size_t count = 0, k = 0;
  *n = 0;
  if (lua_isnoneornil(L, idx)) return NULL;
  if (!lua_istable(L, idx))
    lbp_error(L, fn, "metadata must be a table of strings, got %s",
              luaL_typename(L, idx));
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t len;
    if (lua_type(L, -2) != LUA_TSTRING)
      lbp_error(L, fn, "metadata keys must be strings, got %s",
                luaL_typename(L, -2));
    if (lua_type(L, -1) != LUA_TSTRING)
      lbp_error(L, fn, "metadata['%s'] must be a string, got %s",
                lua_tostring(L, -2), luaL_typename(L, -1));
    if (strlen(lua_tolstring(L, -1, &len)) != len ||
        strlen(lua_tolstring(L, -2, &len)) != len)
      lbp_error(L, fn, "metadata['%s'] holds a zero byte",
                lua_tostring(L, -2));
    count++;
    lua_pop(L, 1);
  }
  kv = lua_newuserdata(L, (2 * count + 1) * sizeof *kv);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    kv[2 * k] = lua_tostring(L, -2);
    kv[2 * k + 1] = lua_tostring(L, -1);
    k++;
    lua_pop(L, 1);
  }
  qsort(kv, count, 2 * sizeof *kv, by_string);
  *n = count;
  return kv;
}

/* st_write(path, names, values, metadata, fn) */
static int l_st_write(lua_State *L) {
  const char *fn = checkfn(L, 5), *path = checkpath(L, 1, fn);
  size_t n = lbp_checklist(L, 2, fn, "names"), nmeta, i;
  const char **kv;
  bp_st_entry *e;
  int64_t *ints;
  bp_error err;
  int base;
  if (lbp_checklist(L, 3, fn, "values") != n)
    lbp_error(L, fn, "%lu names but %lu values", (unsigned long)n,
              (unsigned long)lbp_checklist(L, 3, fn, "values"));
  kv = metadata(L, 4, &nmeta, fn);
  e = lua_newuserdata(L, (n + 1) * sizeof *e);
  ints = lua_newuserdata(L, (n + 1) * sizeof *ints);
  luaL_checkstack(L, (int)n + 8, "too many tensors");
  base = lua_gettop(L);
  for (i = 0; i < n; i++) {
    int at = base + (int)i + 1;
    size_t len;
    const char *name;
    lua_rawgeti(L, 2, (lua_Integer)i + 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      lbp_error(L, fn, "names[%lu] must be a string, got %s",
                (unsigned long)i + 1, luaL_typename(L, -1));
    name = lua_tolstring(L, -1, &len);
    if (strlen(name) != len)
      lbp_error(L, fn, "tensor name '%s' holds a zero byte", name);
    lua_pop(L, 1);                     /* the names table keeps it */
    lua_rawgeti(L, 3, (lua_Integer)i + 1);   /* at `at`, kept there */
    e[i].name = name;
    if (lua_isinteger(L, at)) {
      ints[i] = (int64_t)lua_tointeger(L, at);
      e[i].dtype = BP_ST_I64;
      e[i].ndim = 0;
      e[i].shape = NULL;
      e[i].data = &ints[i];
      continue;
    }
    {
      ltensor *t = lbp_checkanytensor(L, at, fn, name);
      if (t->t.dtype == BP_FLOAT32) {
        t = lbp_checktensor(L, at, fn, name);   /* contiguous (a copy) */
        e[i].dtype = BP_ST_F32;
        e[i].data = t->t.data;
      } else {
        if (!bp_tensor_iscontig(&t->t))
          lbp_error(L, fn, "tensor '%s' is a non-contiguous uint8 view; "
                    "clone() it first", name);
        e[i].dtype = BP_ST_U8;
        e[i].data = t->t.u8;
      }
      e[i].ndim = t->t.ndim;
      e[i].shape = t->t.shape;
    }
  }
  if (bp_st_write(path, e, n, kv, nmeta, &err) != BP_OK)
    lbp_error(L, fn, "%s", err.msg);
  return 0;
}

/* --- what the Lua side needs to know about modules ---------------------- */

/* layer_info(module) -> name, settings (nil for a container) */
static int l_layer_info(lua_State *L) {
  lmodule *m = lbp_checkmodule(L, 1, "backprop.internal.layer_info",
                               "module");
  const bp_layer *l = &m->net.layers[0];
  const bp_layer_class *c = bp_layer_class_of(l->kind);
  int k;
  lua_pushstring(L, m->name);
  if (m->nchildren > 0 || m->net.nlayers != 1 || c == NULL) {
    lua_pushnil(L);
    return 2;
  }
  lua_createtable(L, 0, c->nsettings);
  for (k = 0; k < c->nsettings; k++) {
    const bp_setting *s = &c->settings[k];
    const void *v = bp_setting_cptr(l, s);
    if (s->type == BP_FLOAT) {
      lua_pushnumber(L, *(const float *)v);
    } else if (s->type == BP_SIZE) {
      lua_pushinteger(L, (lua_Integer)*(const size_t *)v);
    } else {
      lua_createtable(L, 2, 0);
      lua_pushinteger(L, (lua_Integer)((const size_t *)v)[0]);
      lua_rawseti(L, -2, 1);
      lua_pushinteger(L, (lua_Integer)((const size_t *)v)[1]);
      lua_rawseti(L, -2, 2);
    }
    lua_setfield(L, -2, s->name);
  }
  return 2;
}

/* out_shape(module, {n, d1, ...}, fn) -> {n, ...}: the output shape of a
** batch of that shape, as in eval mode. */
static int l_out_shape(lua_State *L) {
  const char *fn = checkfn(L, 3);
  lmodule *m = lbp_checkmodule(L, 1, fn, "module");
  size_t nd = lbp_checklist(L, 2, fn, "input_shape"), k, n = 0;
  bp_shape in, out;
  bp_error err;
  bp_status st;
  int training = m->net.training;
  if (nd < 2 || nd > BP_SAMPLE_DIMS + 1)
    lbp_error(L, fn, "input_shape must have 2 to %d sizes, batch first, "
              "got %lu", BP_SAMPLE_DIMS + 1, (unsigned long)nd);
  in.ndim = (int)nd - 1;
  for (k = 0; k < nd; k++) {
    lua_Integer v;
    lua_rawgeti(L, 2, (lua_Integer)k + 1);
    v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
    if (v < 1 || v > (lua_Integer)1 << 40)
      lbp_error(L, fn, "input_shape[%lu] must be a positive integer, got %s",
                (unsigned long)k + 1, luaL_tolstring(L, -1, NULL));
    if (k == 0) n = (size_t)v;
    else in.d[k - 1] = (size_t)v;
    lua_pop(L, 1);
  }
  m->net.training = 0;
  st = bp_net_out_shape(&m->net, n, &in, &out, &err);
  m->net.training = training;
  if (st != BP_OK) lbp_error(L, fn, "%s", err.msg);
  lua_createtable(L, out.ndim + 1, 0);
  lua_pushinteger(L, (lua_Integer)n);
  lua_rawseti(L, -2, 1);
  for (k = 0; k < (size_t)out.ndim; k++) {
    lua_pushinteger(L, (lua_Integer)out.d[k]);
    lua_rawseti(L, -2, (lua_Integer)k + 2);
  }
  return 1;
}

/* f32_bytes(x): a number as 4 bytes, or a float32 tensor's values. */
static int l_f32_bytes(lua_State *L) {
  const char *fn = "backprop.internal.f32_bytes";
  unsigned char *b;
  size_t i;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    unsigned char four[4];
    bp_putf(four, (float)lua_tonumber(L, 1));
    lua_pushlstring(L, (const char *)four, 4);
    return 1;
  }
  {
    ltensor *t = lbp_checktensor(L, 1, fn, "x");
    b = lua_newuserdata(L, 4 * t->t.numel + 1);
    for (i = 0; i < t->t.numel; i++) bp_putf(b + 4 * i, t->t.data[i]);
    lua_pushlstring(L, (const char *)b, 4 * t->t.numel);
  }
  return 1;
}

void lbp_open_io(lua_State *L) {
  static const luaL_Reg meta[] = {{"__gc", stfile_gc}, {NULL, NULL}};
  static const luaL_Reg none[] = {{NULL, NULL}};
  static const luaL_Reg internal[] = {
    {"st_read", l_st_read}, {"st_copy", l_st_copy},
    {"st_tensor", l_st_tensor}, {"st_write", l_st_write},
    {"layer_info", l_layer_info}, {"out_shape", l_out_shape},
    {"f32_bytes", l_f32_bytes},
    {NULL, NULL}
  };
  lbp_newclass(L, LBP_STFILE, meta, none, NULL, none);
  lbp_setinternal(L, internal);
}
