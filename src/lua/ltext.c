/*
** ltext.c: a module as text: tostring (the layers, one a line, Residual
** bodies as nested blocks) and net:summary (shapes and parameter counts).
** Both take the nesting from the network's plan (bp_step) and each line
** from the layer's schema (bp_layer_text).
*/
#include <stdio.h>
#include <string.h>

#include "lmodule.h"

static void indent(luaL_Buffer *b, int depth) {
  int i;
  for (i = 0; i < depth; i++) luaL_addstring(b, "  ");
}

/* Layers [from, to) of net, one a line, Residual bodies as nested blocks
** (a flattened Residual is its body followed by the Residual layer), the
** outermost `drop` levels of nesting left out (the caller's header shows
** them), inside a block of one indent. */
static void render(luaL_Buffer *b, const bp_net *net, size_t from, size_t to,
                   int drop) {
  size_t j;
  int k;
  char line[160];
  for (j = from; j < to; j++) {
    const bp_step *s = &net->step[j];
    int depth = 1 + s->depth - drop, opens = s->opens - (j == from ? drop : 0);
    for (k = 0; k < opens; k++) {       /* outermost first */
      indent(b, depth - opens + k);
      luaL_addstring(b, "Residual {\n");
    }
    indent(b, depth);
    if (s->span > 0) {
      luaL_addstring(b, "}\n");
      continue;
    }
    bp_layer_text(&net->layers[j], line, sizeof line);
    luaL_addstring(b, line);
    luaL_addchar(b, '\n');
  }
}

static int m_tostring(lua_State *L) {
  lmodule *m = luaL_checkudata(L, 1, LBP_MODULE);
  luaL_Buffer b;
  char line[160];
  size_t n = m->net.nlayers;
  if (m->closed) {
    lua_pushfstring(L, "backprop.%s (closed)", m->name);
    return 1;
  }
  luaL_buffinit(L, &b);
  if (n == 1 && strcmp(m->name, "Sequential") != 0) {
    bp_layer_text(&m->net.layers[0], line, sizeof line);
    luaL_addstring(&b, "backprop.");
    luaL_addstring(&b, line);
  } else if (strcmp(m->name, "Residual") == 0 &&
             m->net.step[n - 1].span == n - 1) {
    luaL_addstring(&b, "backprop.Residual {\n");
    render(&b, &m->net, 0, n - 1, 1);
    luaL_addchar(&b, '}');
  } else {
    luaL_addstring(&b, "backprop.Sequential {\n");
    render(&b, &m->net, 0, n, 0);
    luaL_addchar(&b, '}');
  }
  luaL_pushresult(&b);
  return 1;
}

/* The shape at idx: a table of sizes as forward would take a tensor
** ({64, 1, 28, 28}, or {784} for one sample). */
static void checkshape(lua_State *L, int idx, const char *fn, lbp_batch *bt) {
  size_t shape[BP_MAXDIM];
  bp_tensor t;
  int i, nd;
  if (lua_type(L, idx) != LUA_TTABLE)
    lbp_error(L, fn, "input_shape must be a table of sizes (like {64, 1, 28, "
              "28}), got %s", luaL_typename(L, idx));
  nd = (int)luaL_len(L, idx);
  if (nd < 1 || nd > BP_SAMPLE_DIMS + 1)
    lbp_error(L, fn, "input_shape must have 1 to %d sizes, got %d",
              BP_SAMPLE_DIMS + 1, nd);
  for (i = 0; i < nd; i++) {
    char what[32];
    snprintf(what, sizeof what, "input_shape[%d]", i + 1);
    lua_geti(L, idx, i + 1);
    shape[i] = lbp_checksize(L, -1, fn, what);
    lua_pop(L, 1);
  }
  bp_tensor_view(&t, NULL, nd, shape);
  lbp_tobatch(L, fn, "input_shape", &t, bt);
}

/* net:summary([input_shape]): each layer, its output shape and its
** parameter count, then the totals. Shapes come from input_shape, else
** from the last forward pass, else are shown as "?". Returns the text
** (print(net:summary()) shows it): a method that printed by itself would
** write into every program that only wants the string. */
static int m_summary(lua_State *L) {
  lbp_fname fb;
  lmodule *m = lbp_modself(L, "summary", &fb);
  const bp_net *net = &m->net;
  const bp_shape *shapes = NULL;
  luaL_Buffer b;
  char line[320], desc[160], shp[96];
  size_t i, n = 0, total = 0, state = 0;
  lbp_batch bt;
  if (!lua_isnoneornil(L, 2)) {
    bp_shape out;
    bp_error err;
    checkshape(L, 2, fb.s, &bt);
    if (bp_net_out_shape(&m->net, bt.n, &bt.s, &out, &err) != BP_OK)
      lbp_error(L, fb.s, "%s", err.msg);
    shapes = net->probe;
    n = bt.unbatched ? 0 : bt.n;
  } else if (net->batch > 0) {
    shapes = net->shape;
    n = net->batch;
  }
  luaL_buffinit(L, &b);
  if (shapes) bp_shape_fmt(n, &shapes[0], shp, sizeof shp);
  snprintf(line, sizeof line, "backprop.%s, input %s\n%-4s %-50s %-16s %s\n",
           m->name, shapes ? shp : "?", "#", "layer", "output shape",
           "parameters");
  luaL_addstring(&b, line);
  for (i = 0; i < net->nlayers; i++) {
    const bp_layer *l = &net->layers[i];
    const bp_step *s = &net->step[i];
    size_t np = 0;
    int k;
    for (k = 0; k < l->nparams; k++) np += l->p[k].numel;
    total += np;
    state += l->nstate;
    if (s->span > 0) {
      snprintf(desc, sizeof desc, "%*s+ %s (input of layer %lu)",
               2 * s->depth, "", s->cls->name,
               (unsigned long)(i - s->span + 1));
    } else {
      char d[140];
      bp_layer_text(l, d, sizeof d);
      snprintf(desc, sizeof desc, "%*s%s", 2 * s->depth, "", d);
    }
    if (shapes) bp_shape_fmt(n, &shapes[i + 1], shp, sizeof shp);
    snprintf(line, sizeof line, "%-4lu %-50s %-16s %lu\n",
             (unsigned long)i + 1, desc, shapes ? shp : "?",
             (unsigned long)np);
    luaL_addstring(&b, line);
  }
  snprintf(line, sizeof line, "total parameters: %lu", (unsigned long)total);
  luaL_addstring(&b, line);
  if (state > 0) {
    snprintf(line, sizeof line, "\nnon-trainable state values: %lu",
             (unsigned long)state);
    luaL_addstring(&b, line);
  }
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg methods[] = {{"summary", m_summary}, {NULL, NULL}};
static const luaL_Reg meta[] = {{"__tostring", m_tostring}, {NULL, NULL}};

void lbp_open_text(lua_State *L) {
  lbp_module_methods(L, methods, meta);
}
