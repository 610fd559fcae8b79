/* Graphviz's libgvc and libcgraph (the SVG of the dashboard's graphs),
 * loaded on first use: see common/dynlib.h. */
#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "common/dynlib.h"

static struct sy_dynlib gvc = { .soname = "libgvc.so.6" };
static struct sy_dynlib cgraph = { .soname = "libcgraph.so.6" };

/* A constant of libcgraph's, passed by value: the same value as its own
 * (lib/cgraph/graph.c: a directed, non-strict main graph). */
Agdesc_t Agdirected = { .directed = 1, .maingraph = 1 };

SY_DYNLIB_FN(gvc, GVC_t *, gvContext, (void), ())
SY_DYNLIB_FN(gvc, int, gvFreeLayout, (GVC_t *a, graph_t *b), (a, b))
SY_DYNLIB_VOID(gvc, gvFreeRenderData, (char *a), (a))
SY_DYNLIB_FN(gvc, int, gvLayout, (GVC_t *a, graph_t *b, const char *c), (a, b, c))
SY_DYNLIB_FN(gvc, int, gvRenderData, (GVC_t *a, graph_t *b, const char *c, char **d, unsigned int *e), (a, b, c, d, e))
SY_DYNLIB_FN(cgraph, Agsym_t *, agattr, (Agraph_t *a, int b, char *c, char *d), (a, b, c, d))
SY_DYNLIB_FN(cgraph, int, agclose, (Agraph_t *a), (a))
SY_DYNLIB_FN(cgraph, Agedge_t *, agedge, (Agraph_t *a, Agnode_t *b, Agnode_t *c, char *d, int e), (a, b, c, d, e))
SY_DYNLIB_FN(cgraph, Agnode_t *, agnode, (Agraph_t *a, char *b, int c), (a, b, c))
SY_DYNLIB_FN(cgraph, Agraph_t *, agopen, (char *a, Agdesc_t b, Agdisc_t *c), (a, b, c))
SY_DYNLIB_FN(cgraph, int, agsafeset, (void *a, char *b, char *c, char *d), (a, b, c, d))
