/*
** ldata.c: the C half of bp.data: IDX files (read_idx), and the gather
** behind bp.data.batches, which fills reused batch tensors from rows of a
** data set (converting uint8 to float32 on the way when asked).
** All of it is internal (core.internal: data.lua and the specs use it).
*/
#include <errno.h>
#include <math.h>
#include <string.h>

#include "io/idx.h"
#include "ldata.h"
#include "ltensor.h"

#define LBP_IDXREADER "backprop.IdxReader"
#define LBP_GUNZIP "backprop.Gunzip"

/* An open IDX file is a userdata, so a Lua error between opening and
** closing (out of memory for the tensor) cannot leak the file. */
static int idx_gc(lua_State *L) {
  bp_idx_close(luaL_checkudata(L, 1, LBP_IDXREADER));
  return 0;
}

static const char *checkpath(lua_State *L, const char *fn) {
  if (lua_type(L, 1) != LUA_TSTRING)
    lbp_error(L, fn, "path must be a string, got %s", luaL_typename(L, 1));
  return lua_tostring(L, 1);
}

/* internal.read_idx(path) -> tensor (uint8 for type 0x08, else float32). */
static int l_read_idx(lua_State *L) {
  const char *fn = "backprop.data.read_idx";
  const char *path = checkpath(L, fn);
  bp_error err;
  bp_idx *r = lua_newuserdata(L, sizeof *r);
  ltensor *t;
  memset(r, 0, sizeof *r);
  luaL_setmetatable(L, LBP_IDXREADER);
  if (bp_idx_open(r, path, &err) != BP_OK) {
    bp_idx_close(r);
    return lbp_error(L, fn, "'%s': %s", path, err.msg);
  }
  if (bp_idx_dtype(r) == BP_UINT8)
    t = lbp_newtensor_u8(L, r->ndim, r->shape, fn);
  else
    t = lbp_newtensor(L, r->ndim, r->shape, fn);
  if (bp_idx_read(r, &t->t, &err) != BP_OK) {
    bp_idx_close(r);
    return lbp_error(L, fn, "'%s': %s", path, err.msg);
  }
  bp_idx_close(r);
  return 1;
}

/* --- test support: a whole gzip file as a string --------------------- */

typedef struct lgunzip {
  FILE *f;
  bp_gunzip *z;
} lgunzip;

static void gunzip_close(lgunzip *g) {
  bp_gunzip_close(g->z);
  g->z = NULL;
  if (g->f) fclose(g->f);
  g->f = NULL;
}

static int gunzip_gc(lua_State *L) {
  gunzip_close(luaL_checkudata(L, 1, LBP_GUNZIP));
  return 0;
}

/* internal.gunzip(path) -> string. For the specs: it holds everything. */
static int l_gunzip(lua_State *L) {
  const char *fn = "backprop.internal.gunzip";
  const char *path = checkpath(L, fn);
  bp_error err;
  luaL_Buffer b;
  lgunzip *g = lua_newuserdata(L, sizeof *g);
  g->f = NULL;
  g->z = NULL;
  luaL_setmetatable(L, LBP_GUNZIP);
  g->f = fopen(path, "rb");
  if (g->f == NULL)
    return lbp_error(L, fn, "'%s': cannot open: %s", path, strerror(errno));
  g->z = bp_gunzip_open(g->f, &err);
  if (g->z == NULL) return lbp_error(L, fn, "'%s': %s", path, err.msg);
  luaL_buffinit(L, &b);
  for (;;) {
    const unsigned char *p;
    size_t n;
    if (bp_gunzip_read(g->z, &p, &n, &err) != BP_OK) {
      gunzip_close(g);
      return lbp_error(L, fn, "'%s': %s", path, err.msg);
    }
    if (n == 0) break;
    luaL_addlstring(&b, (const char *)p, n);
  }
  gunzip_close(g);
  luaL_pushresult(&b);
  return 1;
}

/* --- tensors of any element type ------------------------------------- */

/* internal.batch_new(src, rows, float) -> a tensor shaped like src but with
** `rows` rows: float32 if `float` or src is float32, else uint8. */
static int l_batch_new(lua_State *L) {
  const char *fn = "backprop.data.batches";
  ltensor *src = lbp_checkanytensor(L, 1, fn, "x");
  size_t shape[BP_MAXDIM];
  int as_float = lua_toboolean(L, 3);
  memcpy(shape, src->t.shape, sizeof shape);
  shape[0] = lbp_checksize(L, 2, fn, "rows");
  if (src->t.dtype == BP_UINT8 && !as_float)
    lbp_newtensor_u8(L, src->t.ndim, shape, fn);
  else
    lbp_newtensor(L, src->t.ndim, shape, fn);
  return 1;
}

/* internal.batch_fill(dst, src, perm, start, count [, scale [, shift]]):
** dst rows 1..count = src rows perm[start + 1 .. start + count] (or
** start + 1 .. when perm is nil), as src * scale + shift when dst is
** float32. perm holds 1-based row numbers as floats (bp.randperm). */
static int l_batch_fill(lua_State *L) {
  const char *fn = "backprop.data.batches";
  ltensor *dst = lbp_checkanytensor(L, 1, fn, "batch");
  ltensor *src = lbp_checkanytensor(L, 2, fn, "x");
  ltensor *perm = lua_isnil(L, 3) ? NULL : lbp_checktensor(L, 3, fn, "perm");
  lua_Integer start = luaL_checkinteger(L, 4), count = luaL_checkinteger(L, 5);
  int affine = !lua_isnoneornil(L, 6) || !lua_isnoneornil(L, 7);
  float scale = (float)luaL_optnumber(L, 6, 1.0);
  float shift = (float)luaL_optnumber(L, 7, 0.0);
  size_t n = src->t.shape[0], row, i, j;
  float lut[256];
  if (dst->t.ndim != src->t.ndim || dst->t.numel / dst->t.shape[0] !=
      src->t.numel / n)
    lbp_error(L, fn, "batch rows do not match the data's rows");
  row = src->t.numel / n;
  if (start < 0 || count < 1 || (size_t)count > dst->t.shape[0] ||
      (size_t)start > n || (size_t)count > n - (size_t)start)
    lbp_error(L, fn, "rows %d..%d are out of range", (int)start + 1,
              (int)(start + count));
  if (perm && perm->t.numel != n)
    lbp_error(L, fn, "perm has %lu entries for %lu rows",
              (unsigned long)perm->t.numel, (unsigned long)n);
  if (dst->t.dtype == BP_UINT8 && src->t.dtype != BP_UINT8)
    lbp_error(L, fn, "cannot fill a uint8 batch from float32 data");
  if (src->t.dtype == BP_UINT8)
    for (i = 0; i < 256; i++) lut[i] = (float)i * scale + shift;
  for (i = 0; i < (size_t)count; i++) {
    size_t id = (size_t)start + i;
    if (perm) {
      float v = perm->t.data[id];
      if (!(v >= 1.0f && v <= (float)n && v == floorf(v)))
        lbp_error(L, fn, "perm[%lu] = %g is not a row number in 1..%lu",
                  (unsigned long)id + 1, (double)v, (unsigned long)n);
      id = (size_t)v - 1;
    }
    if (dst->t.dtype == BP_UINT8) {
      memcpy(dst->t.u8 + i * row, src->t.u8 + id * row, row);
    } else if (src->t.dtype == BP_UINT8) {
      const unsigned char *s = src->t.u8 + id * row;
      float *d = dst->t.data + i * row;
      for (j = 0; j < row; j++) d[j] = lut[s[j]];
    } else if (affine) {
      bp_vaffine(row, src->t.data + id * row, scale, shift, dst->t.data + i * row);
    } else {
      memcpy(dst->t.data + i * row, src->t.data + id * row, row * sizeof(float));
    }
  }
  return 0;
}

static const luaL_Reg internal[] = {
  {"read_idx", l_read_idx}, {"gunzip", l_gunzip},
  {"batch_new", l_batch_new}, {"batch_fill", l_batch_fill},
  {NULL, NULL}
};

void lbp_open_data(lua_State *L) {
  static const luaL_Reg idx_meta[] = {{"__gc", idx_gc}, {NULL, NULL}};
  static const luaL_Reg gz_meta[] = {{"__gc", gunzip_gc}, {NULL, NULL}};
  luaL_newmetatable(L, LBP_IDXREADER);
  luaL_setfuncs(L, idx_meta, 0);
  lua_pop(L, 1);
  luaL_newmetatable(L, LBP_GUNZIP);
  luaL_setfuncs(L, gz_meta, 0);
  lua_pop(L, 1);
  lbp_setinternal(L, internal);
}
