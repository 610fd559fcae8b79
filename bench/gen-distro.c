/* gen-distro: writes a synthetic RPM distribution in the Azure Linux layout as
 * a git repository with history, for benchmarking `shipyard plan` and, with
 * --buildable, builds (bench/cluster.sh).
 *
 *   gen-distro --specs N --out DIR [--seed S] [--commits K] [--buildable]
 *
 * DIR (created; must be absent or empty) receives SPECS/<dir>/<spec>.spec, a
 * small source tarball and <spec>.signatures.json (SHA-256, the toolkit's
 * format) per spec, and SPECS/azurelinux-rpm-macros/macros. The dependency
 * shape imitates a distribution: a dozen hubs (glibc, zlib, openssl, ...) that
 * hundreds of specs BuildRequire, preferential attachment among the rest,
 * chains, -devel/-libs/noarch -doc subpackages, versioned BuildRequires,
 * pkgconfig() provides, BuildRequires on toolchain names and on names nothing
 * provides, two build cycles, multi-spec directories (same Name, older
 * Version, as SPECS/golang/), %{azl_<spec>_version} users, ExclusiveArch.
 *
 * History (git objects written with libgit2): the initial commit, one commit
 * bumping the Release of a hub (zlib), then K commits that each touch one spec
 * directory (alternately a Release bump and a patch added with a Release
 * bump). So HEAD~K is the hub commit and HEAD~1..HEAD a one-spec commit.
 * Everything is a function of N, S and K: the same arguments give the same
 * commit ids. A summary goes to stdout. Exit status 0, 1 on error, 2 on usage.
 *
 * --buildable: the same DAG shape, but every spec builds in moments with the
 * worker root alone: %build checks that the build root holds a file of each
 * spec it BuildRequires and writes one small file, which %install puts at
 * the paths %files lists. Left out, as they would not build: the cycles, the
 * names nothing provides, the aarch64-only specs, the multi-spec directories
 * and the pkgconfig .pc files (the Provides stay). */
#define _GNU_SOURCE /* hsearch_r */
#include <archive.h>
#include <archive_entry.h>
#include <getopt.h>
#include <git2.h>
#include <jansson.h>
#include <math.h>
#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fs.h"
#include "common/hash.h"
#include "common/strv.h"

#define SUB_DEVEL 1u
#define SUB_LIBS 2u
#define SUB_DOC 4u

#define EPOCH_2024 1704067200L /* 2024-01-01T00:00:00Z, the initial commit */
#define DAY 86400L
#define AUTHOR "shipyard bench"
#define EMAIL "bench@shipyard.invalid"
#define MACROS_DIR "azurelinux-rpm-macros"

/* How a BuildRequires names its target spec. */
enum dep_kind {
	DEP_PLAIN,     /* <name>-devel, or <name> without -devel */
	DEP_VERSIONED, /* ... >= major.minor of the target */
	DEP_PKGCONFIG, /* pkgconfig(<name>) */
	DEP_MACRO,     /* ... >= %{azl_<target spec>_version} */
};

struct dep {
	size_t target;
	enum dep_kind kind;
};

struct gspec {
	char *base;            /* spec file name without .spec */
	char *dir;             /* directory under SPECS/ */
	char *name;            /* Name: */
	char *version;         /* Version: */
	int major, minor;      /* of version */
	int release;           /* Release: number before %{?dist} */
	unsigned sub;          /* SUB_* subpackages */
	int pc;                /* -devel provides pkgconfig(<name>) */
	int hub;               /* one of the hub table's specs */
	int aarch64_only;      /* ExclusiveArch: aarch64 (excluded on x86_64) */
	const char *arch_line; /* ExclusiveArch/ExcludeArch line, or NULL */
	int has_check;         /* has a %check section */
	struct dep *brs;       /* BuildRequires on other specs */
	size_t nbrs;
	size_t *reqs; /* runtime Requires on other specs' main package */
	size_t nreqs;
	struct sy_strv extra_brs; /* toolchain names, names nothing provides */
	struct sy_strv patches;   /* patch file names, in Patch order */
	struct sy_strv changelog; /* rendered entries, newest first */
};

struct distro {
	struct gspec *specs;
	size_t n;
	int buildable; /* --buildable: specs `shipyard build` builds */
	uint64_t rng;
	struct hsearch_data names; /* every spec Name and reserved name */
};

/* A hub: a library hundreds of specs BuildRequire. share: fraction of the
 * other specs that BuildRequire it; deps: earlier hubs it BuildRequires. */
struct hub {
	const char *name;
	const char *version;
	double share;
	unsigned sub;
	int pc;
	int deps[4]; /* indices into hubs[], -1 terminated */
};

static const struct hub hubs[] = {
	{ "glibc", "2.38", 0.15, SUB_DEVEL | SUB_DOC, 0, { -1 } },
	{ "zlib", "1.3.1", 0.30, SUB_DEVEL, 1, { -1 } },
	{ "openssl", "3.3.2", 0.22, SUB_DEVEL | SUB_LIBS | SUB_DOC, 1, { 1, -1 } },
	{ "ncurses", "6.4", 0.10, SUB_DEVEL | SUB_LIBS, 1, { -1 } },
	{ "xz", "5.4.4", 0.10, SUB_DEVEL | SUB_LIBS, 1, { -1 } },
	{ "bzip2", "1.0.8", 0.06, SUB_DEVEL | SUB_LIBS, 0, { -1 } },
	{ "libffi", "3.4.4", 0.08, SUB_DEVEL, 1, { -1 } },
	{ "pcre2", "10.42", 0.08, SUB_DEVEL, 1, { 1, 5, -1 } },
	{ "libxml2", "2.11.5", 0.14, SUB_DEVEL | SUB_DOC, 1, { 1, 4, -1 } },
	{ "expat", "2.6.3", 0.05, SUB_DEVEL, 1, { -1 } },
	{ "readline", "8.2", 0.05, SUB_DEVEL, 0, { 3, -1 } },
	{ "sqlite", "3.44.0", 0.06, SUB_DEVEL | SUB_LIBS, 1, { 1, 10, -1 } },
};
#define NHUBS (sizeof(hubs) / sizeof(hubs[0]))
#define HUB_TOUCHED 1 /* zlib: the hub whose Release the second commit bumps */

/* Names other specs must not take: toolchain names (config/worker.conf) and
 * the BuildRequires nothing provides. */
static const char *const toolchain_brs[] = { "gcc", "make", "gcc-c++", "pkgconfig", "binutils" };
static const char *const missing_brs[] = { "doxygen", "help2man", "asciidoc", "texlive-latex",
					   "java-devel" };
static const char *const syllables[] = {
	"ba", "ko", "ri", "zen", "tu", "mal", "vor", "pex", "lin", "dra", "qui", "sor", "fen", "gal",
	"hop", "jur", "kel", "mox", "nib", "orb", "pul", "rav", "sil", "tam", "ul", "vex", "wim",
	"yar", "zo", "cre", "dul", "fla", "gri", "hum", "ism", "jab", "kro", "lum", "nor", "plo",
};
static const char *const prefixes[] = { "", "", "", "", "lib", "lib", "python3-", "perl-",
					"golang-", "rust-" };
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* splitmix64: small, seedable, good enough for shapes. */
static uint64_t rnd(struct distro *d)
{
	uint64_t z = (d->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rnd01(struct distro *d)
{
	return (double)(rnd(d) >> 11) / 9007199254740992.0;
}

/* Uniform in [0, n). */
static size_t rndn(struct distro *d, size_t n)
{
	return (size_t)(rnd01(d) * (double)n);
}

/* Returns 1 and records name if no spec or reserved name has it yet. */
static int name_claim(struct distro *d, char *name)
{
	ENTRY e = { .key = name, .data = NULL }, *found = NULL;
	hsearch_r(e, FIND, &found, &d->names);
	if (found)
		return 0;
	if (!hsearch_r(e, ENTER, &found, &d->names)) {
		fprintf(stderr, "gen-distro: name table full\n");
		exit(1);
	}
	return 1;
}

static char *fresh_name(struct distro *d)
{
	for (;;) {
		char buf[64];
		size_t k = 2 + rndn(d, 2);
		int off = snprintf(buf, sizeof(buf), "%s", prefixes[rndn(d, COUNT(prefixes))]);
		for (size_t i = 0; i < k; i++)
			off += snprintf(buf + off, sizeof(buf) - (size_t)off, "%s",
					syllables[rndn(d, COUNT(syllables))]);
		char *name = sy_xstrdup(buf);
		if (name_claim(d, name))
			return name;
		free(name);
	}
}

static void set_version(struct gspec *s, int major, int minor, int patch)
{
	s->major = major;
	s->minor = minor;
	s->version = sy_xasprintf("%d.%d.%d", major, minor, patch);
}

/* "Mon Jan 01 2024" for a changelog entry at t. */
static void changelog_date(long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%a %b %d %Y", &tm);
}

static void changelog_add(struct gspec *s, long t, const char *text)
{
	char date[32];
	changelog_date(t, date);
	char *entry = sy_xasprintf("* %s " AUTHOR " <" EMAIL "> - %s-%d\n- %s\n", date, s->version,
				   s->release, text);
	/* newest first: shift the others down */
	sy_strv_push_owned(&s->changelog, entry);
	for (size_t i = s->changelog.n - 1; i > 0; i--) {
		char *tmp = s->changelog.items[i];
		s->changelog.items[i] = s->changelog.items[i - 1];
		s->changelog.items[i - 1] = tmp;
	}
}

static int has_br(const struct gspec *s, size_t target)
{
	for (size_t i = 0; i < s->nbrs; i++)
		if (s->brs[i].target == target)
			return 1;
	return 0;
}

/* Adds a BuildRequires of s on spec target unless it is s itself, already
 * there, or excluded on x86_64 (nothing may need an aarch64-only spec). */
static void add_br(struct distro *d, size_t si, size_t target, enum dep_kind kind)
{
	struct gspec *s = &d->specs[si], *t = &d->specs[target];
	if (target == si || t->aarch64_only || has_br(s, target))
		return;
	if (kind == DEP_PKGCONFIG && !t->pc)
		kind = DEP_PLAIN;
	s->brs = sy_xrealloc(s->brs, (s->nbrs + 1) * sizeof(*s->brs));
	s->brs[s->nbrs++] = (struct dep){ target, kind };
}

static void add_req(struct distro *d, size_t si, size_t target)
{
	struct gspec *s = &d->specs[si];
	if (target == si || d->specs[target].aarch64_only)
		return;
	for (size_t i = 0; i < s->nreqs; i++)
		if (s->reqs[i] == target)
			return;
	s->reqs = sy_xrealloc(s->reqs, (s->nreqs + 1) * sizeof(*s->reqs));
	s->reqs[s->nreqs++] = target;
}

/* Spec 0: the distribution's macros package. Specs 1..NHUBS: the hubs. */
static void make_fixed_specs(struct distro *d)
{
	struct gspec *m = &d->specs[0];
	m->base = sy_xstrdup(MACROS_DIR);
	m->name = sy_xstrdup(MACROS_DIR);
	name_claim(d, m->name);
	set_version(m, 3, 0, 0);
	for (size_t h = 0; h < NHUBS; h++) {
		struct gspec *s = &d->specs[1 + h];
		s->base = sy_xstrdup(hubs[h].name);
		s->name = sy_xstrdup(hubs[h].name);
		name_claim(d, s->name);
		s->version = sy_xstrdup(hubs[h].version);
		sscanf(s->version, "%d.%d", &s->major, &s->minor);
		s->sub = hubs[h].sub;
		s->pc = hubs[h].pc;
		s->hub = 1;
		s->has_check = 1;
		sy_strv_push(&s->extra_brs, "gcc");
		sy_strv_push(&s->extra_brs, "make");
	}
	for (size_t h = 0; h < NHUBS; h++)
		for (const int *p = hubs[h].deps; *p >= 0; p++)
			add_br(d, 1 + h, 1 + (size_t)*p, DEP_PLAIN);
}

/* Specs NHUBS+1..end-1: names, versions, subpackages, arch. */
static void make_other_specs(struct distro *d, size_t end)
{
	for (size_t i = 1 + NHUBS; i < end; i++) {
		struct gspec *s = &d->specs[i];
		s->name = fresh_name(d);
		s->base = sy_xstrdup(s->name);
		set_version(s, 1 + (int)rndn(d, 9), (int)rndn(d, 30), (int)rndn(d, 20));
		double u = rnd01(d);
		s->sub = u < 0.35 ? 0 : u < 0.85 ? SUB_DEVEL : SUB_DEVEL | SUB_LIBS;
		if (rnd01(d) < 0.12)
			s->sub |= SUB_DOC;
		s->pc = (s->sub & SUB_DEVEL) && rnd01(d) < 0.06;
		s->has_check = rnd01(d) < 0.4;
		double a = rnd01(d);
		/* aarch64-only specs sit in the last tenth, so few would want them */
		if (a < 0.01 && i > d->n * 9 / 10 && !d->buildable) {
			s->aarch64_only = 1;
			s->arch_line = "ExclusiveArch:  aarch64";
		} else if (a < 0.03) {
			s->arch_line = "ExclusiveArch:  x86_64 aarch64";
		} else if (a < 0.035) {
			s->arch_line = "ExcludeArch:    %{ix86}";
		}
	}
}

/* Target for a random BuildRequires of spec i: an earlier non-hub spec,
 * biased towards early ones (preferential attachment). */
static size_t pick_earlier(struct distro *d, size_t i)
{
	size_t first = 1 + NHUBS;
	double u = rnd01(d);
	return first + (size_t)((double)(i - first) * u * u * u);
}

static enum dep_kind pick_kind(struct distro *d, const struct gspec *t)
{
	double u = rnd01(d);
	if (t->pc && u < 0.5)
		return DEP_PKGCONFIG;
	if (u > 0.8)
		return DEP_VERSIONED;
	return DEP_PLAIN;
}

static void make_edges(struct distro *d)
{
	size_t first = 1 + NHUBS;
	for (size_t i = first; i < d->n; i++) {
		struct gspec *s = &d->specs[i];
		for (size_t h = 0; h < NHUBS; h++)
			if (rnd01(d) < hubs[h].share)
				add_br(d, i, 1 + h, pick_kind(d, &d->specs[1 + h]));
		size_t k = i > first ? rndn(d, 5) : 0;
		for (size_t j = 0; j < k; j++) {
			size_t t = pick_earlier(d, i);
			add_br(d, i, t, pick_kind(d, &d->specs[t]));
		}
		if (i > first && rnd01(d) < 0.25)
			add_req(d, i, pick_earlier(d, i));
		if (rnd01(d) < 0.1)
			add_req(d, i, 1 + rndn(d, NHUBS));
		if (rnd01(d) < 0.7)
			sy_strv_push(&s->extra_brs, "gcc");
		if (rnd01(d) < 0.6)
			sy_strv_push(&s->extra_brs, "make");
		if (rnd01(d) < 0.15)
			sy_strv_push(&s->extra_brs, "gcc-c++");
		if (rnd01(d) < 0.2)
			sy_strv_push(&s->extra_brs, "pkgconfig");
		if (rnd01(d) < 0.015 && !d->buildable)
			sy_strv_push(&s->extra_brs, missing_brs[rndn(d, COUNT(missing_brs))]);
	}
}

/* Chains: contiguous runs of specs where each BuildRequires the one before. */
static size_t make_chains(struct distro *d)
{
	size_t first = 2 + NHUBS, nchains = d->n / 150, made = 0;
	if (d->n < first + 40)
		return 0;
	for (size_t c = 0; c < nchains; c++) {
		size_t len = 8 + rndn(d, 23);
		size_t start = first + rndn(d, d->n - first - len);
		for (size_t i = start + 1; i < start + len; i++)
			add_br(d, i, i - 1, DEP_PLAIN);
		made++;
	}
	return made;
}

/* A spec in the middle of the tree that can take part in a cycle and is not
 * one of the n specs in taken. */
static size_t pick_cycle_member(struct distro *d, const size_t *taken, size_t n)
{
	size_t first = 1 + NHUBS;
	for (;;) {
		size_t i = first + (d->n - first) / 4 + rndn(d, (d->n - first) / 2), j;
		for (j = 0; j < n && taken[j] != i; j++)
			;
		if (j == n && !d->specs[i].aarch64_only)
			return i;
	}
}

/* One 2-cycle and one 3-cycle, disjoint: the back edges go to later specs. */
static void make_cycles(struct distro *d)
{
	size_t m[5];
	if (d->n < 1 + NHUBS + 40 || d->buildable)
		return;
	for (size_t i = 0; i < 5; i++)
		m[i] = pick_cycle_member(d, m, i);
	add_br(d, m[0], m[1], DEP_PLAIN);
	add_br(d, m[1], m[0], DEP_PLAIN);
	add_br(d, m[2], m[3], DEP_PLAIN);
	add_br(d, m[3], m[4], DEP_PLAIN);
	add_br(d, m[4], m[2], DEP_PLAIN);
}

/* A few specs use another spec's %{azl_<spec>_version}, as out-of-tree
 * kernel modules do with the kernel's. */
static void make_version_macro_users(struct distro *d)
{
	size_t first = 1 + NHUBS, n = d->n > first ? (d->n - first) / 100 : 0;
	for (size_t k = 0; k < n; k++) {
		size_t i = first + rndn(d, d->n - first);
		size_t h = 1 + rndn(d, NHUBS);
		struct gspec *s = &d->specs[i];
		size_t j;
		for (j = 0; j < s->nbrs && s->brs[j].target != h; j++)
			;
		if (j < s->nbrs)
			s->brs[j].kind = DEP_MACRO;
		else
			add_br(d, i, h, DEP_MACRO);
	}
}

/* Makes spec e an older version of primary spec p, in p's directory (same
 * Name, as SPECS/golang/golang-1.23.spec beside golang.spec). */
static void make_variant(struct distro *d, struct gspec *s, struct gspec *prim, int major)
{
	s->name = sy_xstrdup(prim->name);
	set_version(s, major, (int)rndn(d, 10), (int)rndn(d, 10));
	s->base = sy_xasprintf("%s-%d.%d", prim->name, s->major, s->minor);
	s->dir = sy_xstrdup(prim->dir);
	s->sub = prim->sub & ~SUB_DOC;
	s->has_check = rnd01(d) < 0.4;
}

/* Multi-spec directories: specs end..n-1 become older versions of earlier
 * specs, two or three specs per directory. */
static void make_multi_spec_dirs(struct distro *d, size_t end)
{
	size_t first = 1 + NHUBS;
	for (size_t e = end; e < d->n; e++) {
		size_t p;
		do
			p = first + rndn(d, end - first);
		while (d->specs[p].major < 3 || d->specs[p].aarch64_only || d->specs[p].dir);
		struct gspec *prim = &d->specs[p];
		prim->dir = sy_xstrdup(prim->base);
		make_variant(d, &d->specs[e], prim, prim->major - 1);
		if (e + 1 < d->n && rnd01(d) < 0.5)
			make_variant(d, &d->specs[++e], prim, prim->major - 2);
	}
}

/* Name of the package a BuildRequires on t asks for. */
static const char *dev_suffix(const struct gspec *t)
{
	return (t->sub & SUB_DEVEL) ? "-devel" : "";
}

/* %azl_<spec>_version: the spec file name with - as _ (versionsprocessor). */
static char *version_macro(const struct gspec *t)
{
	char *m = sy_xasprintf("azl_%s_version", t->base);
	for (char *p = m; *p; p++)
		if (*p == '-')
			*p = '_';
	return m;
}

static void render_br(FILE *f, const struct distro *d, const struct dep *dep)
{
	const struct gspec *t = &d->specs[dep->target];
	char *m;
	switch (dep->kind) {
	case DEP_PKGCONFIG:
		fprintf(f, "BuildRequires:  pkgconfig(%s)\n", t->name);
		break;
	case DEP_VERSIONED:
		fprintf(f, "BuildRequires:  %s%s >= %d.%d\n", t->name, dev_suffix(t), t->major,
			t->minor);
		break;
	case DEP_MACRO:
		m = version_macro(t);
		fprintf(f, "BuildRequires:  %s%s >= %%{%s}\n", t->name, dev_suffix(t), m);
		free(m);
		break;
	default:
		fprintf(f, "BuildRequires:  %s%s\n", t->name, dev_suffix(t));
	}
}

static void render_subpackages(FILE *f, const struct gspec *s)
{
	const char *main_dep = (s->sub & SUB_LIBS) ? "%{name}-libs" : "%{name}";
	if (s->sub & SUB_LIBS)
		fprintf(f, "\n%%package        libs\nSummary:        Shared libraries of %s\n\n"
			   "%%description    libs\nThe shared libraries of %s.\n",
			s->name, s->name);
	if (s->sub & SUB_DEVEL) {
		fprintf(f, "\n%%package        devel\nSummary:        Development files for %s\n"
			   "Requires:       %s%%{?_isa} = %%{version}-%%{release}\n",
			s->name, main_dep);
		if (s->pc)
			fprintf(f, "Provides:       pkgconfig(%s) = %%{version}\n", s->name);
		fprintf(f, "\n%%description    devel\nHeaders and link library of %s.\n", s->name);
	}
	if (s->sub & SUB_DOC)
		fprintf(f, "\n%%package        doc\nSummary:        Documentation for %s\n"
			   "BuildArch:      noarch\n\n%%description    doc\nManual of %s.\n",
			s->name, s->name);
}

static void render_files(FILE *f, const struct distro *d, const struct gspec *s)
{
	fprintf(f, "\n%%files\n%%license LICENSE\n%%{_bindir}/%s\n", s->name);
	if (s->sub & SUB_LIBS)
		fprintf(f, "\n%%files libs\n%%{_libdir}/lib%s.so.*\n", s->name);
	else if (s->sub & SUB_DEVEL)
		fprintf(f, "%%{_libdir}/lib%s.so.*\n", s->name);
	if (s->sub & SUB_DEVEL) {
		fprintf(f, "\n%%files devel\n%%{_includedir}/%s.h\n%%{_libdir}/lib%s.so\n", s->name,
			s->name);
		if (s->pc && !d->buildable)
			fprintf(f, "%%{_libdir}/pkgconfig/%s.pc\n", s->name);
	}
	if (s->sub & SUB_DOC)
		fprintf(f, "\n%%files doc\n%%doc README\n");
}

/* --buildable: %prep, %build, %install and %check that build in moments.
 * %build first checks that the build root holds a file of every spec s
 * BuildRequires (its header, else its program), so that a build root
 * without its dependencies fails; then it writes one small file, which
 * %install puts at every path %files lists. */
static void render_buildable(FILE *f, const struct distro *d, const struct gspec *s)
{
	fprintf(f, "\n%%prep\n%%autosetup -p1\n\n%%build\n");
	for (size_t i = 0; i < s->nbrs; i++) {
		const struct gspec *t = &d->specs[s->brs[i].target];
		if (t->sub & SUB_DEVEL)
			fprintf(f, "test -f %%{_includedir}/%s.h\n", t->name);
		else
			fprintf(f, "test -f %%{_bindir}/%s\n", t->name);
	}
	fprintf(f, "echo '%%{name} %%{version}-%%{release}' >%%{name}.out\n\n"
		   "%%install\ninstall -D -m 755 %%{name}.out %%{buildroot}%%{_bindir}/%%{name}\n");
	if (s->sub & (SUB_DEVEL | SUB_LIBS))
		fprintf(f, "install -D -m 644 %%{name}.out %%{buildroot}%%{_libdir}/lib%%{name}.so.1\n");
	if (s->sub & SUB_DEVEL)
		fprintf(f, "ln -s lib%%{name}.so.1 %%{buildroot}%%{_libdir}/lib%%{name}.so\n"
			   "install -D -m 644 %%{name}.out %%{buildroot}%%{_includedir}/%%{name}.h\n");
	if (s->has_check)
		fprintf(f, "\n%%check\ntest -s %%{name}.out\n");
}

static char *render_macros_spec(const struct gspec *s)
{
	return sy_xasprintf(
		"Summary:        Macros of the synthetic distribution\n"
		"Name:           %s\n"
		"Version:        %s\n"
		"Release:        %d%%{?dist}\n"
		"License:        MIT\n"
		"Vendor:         shipyard bench\n"
		"Distribution:   synthetic\n"
		"Source0:        macros\n"
		"BuildArch:      noarch\n\n"
		"%%description\nThe rpm macros every spec of the synthetic distribution uses.\n\n"
		"%%prep\n\n%%build\n\n"
		"%%install\ninstall -D -m 644 %%{SOURCE0} "
		"%%{buildroot}%%{_rpmconfigdir}/azurelinux/macros\n\n"
		"%%files\n%%{_rpmconfigdir}/azurelinux/macros\n\n"
		"%%changelog\n%s",
		s->name, s->version, s->release, s->changelog.items[0]);
}

/* The spec text of s (caller frees). */
static char *render_spec(const struct distro *d, const struct gspec *s)
{
	if (s == &d->specs[0])
		return render_macros_spec(s);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		fprintf(stderr, "gen-distro: open_memstream: out of memory\n");
		exit(1);
	}
	fprintf(f,
		"Summary:        Synthetic package %s\nName:           %s\n"
		"Version:        %s\nRelease:        %d%%{?dist}\nLicense:        MIT\n"
		"Vendor:         shipyard bench\nDistribution:   synthetic\n"
		"URL:            https://example.invalid/%s\n"
		"Source0:        %%{name}-%%{version}.tar.gz\n",
		s->name, s->name, s->version, s->release, s->name);
	for (size_t i = 0; i < s->patches.n; i++)
		fprintf(f, "Patch%zu:         %s\n", i, s->patches.items[i]);
	for (size_t i = 0; i < s->extra_brs.n; i++)
		fprintf(f, "BuildRequires:  %s\n", s->extra_brs.items[i]);
	for (size_t i = 0; i < s->nbrs; i++)
		render_br(f, d, &s->brs[i]);
	if (s->sub & SUB_LIBS)
		fprintf(f, "Requires:       %%{name}-libs%%{?_isa} = %%{version}-%%{release}\n");
	for (size_t i = 0; i < s->nreqs; i++) {
		const struct gspec *t = &d->specs[s->reqs[i]];
		fprintf(f, "Requires:       %s%s\n", t->name, (t->sub & SUB_LIBS) ? "-libs" : "");
	}
	if (s->arch_line)
		fprintf(f, "%s\n", s->arch_line);
	fprintf(f, "\n%%description\n%s is a synthetic package of the shipyard benchmark.\n",
		s->name);
	render_subpackages(f, s);
	if (d->buildable) {
		render_buildable(f, d, s);
	} else {
		fprintf(f, "\n%%prep\n%%autosetup -p1\n\n%%build\n%%bench_configure\n%%make_build\n\n"
			   "%%install\n%%make_install\n");
		if (s->has_check)
			fprintf(f, "\n%%check\n%%make_build check\n");
	}
	render_files(f, d, s);
	fprintf(f, "\n%%changelog\n");
	for (size_t i = 0; i < s->changelog.n; i++)
		fprintf(f, "%s%s", i ? "\n" : "", s->changelog.items[i]);
	fclose(f);
	return buf;
}

static const char macros_text[] =
	"# Macros of the synthetic distribution written by shipyard's bench/gen-distro.\n"
	"%_vendor_bench          shipyard\n"
	"%bench_cflags           -O2 -g -pipe -Wall\n"
	"%bench_configure        ./configure --prefix=%{_prefix} --libdir=%{_libdir} "
	"CFLAGS=\"%{bench_cflags}\"\n"
	"%bench_docdir           %{_docdir}/%{name}\n"
	"%_smp_ncpus_max         8\n";

/* Writes a small, reproducible .tar.gz holding <stem>/README and LICENSE. */
static int write_tarball(const char *path, const char *stem, struct sy_error *err)
{
	struct archive *a = archive_write_new();
	int rc = -1;
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
	    archive_write_open_filename(a, path) != ARCHIVE_OK) {
		sy_error_set(err, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	const char *names[] = { "README", "LICENSE" };
	for (size_t i = 0; i < 2; i++) {
		char *p = sy_xasprintf("%s/%s", stem, names[i]);
		char *body = sy_xasprintf("%s of %s, written by shipyard's bench/gen-distro.\n",
					  names[i], stem);
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, p);
		archive_entry_set_size(e, (la_int64_t)strlen(body));
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_mtime(e, EPOCH_2024, 0);
		int w = archive_write_header(a, e) == ARCHIVE_OK &&
			archive_write_data(a, body, strlen(body)) == (la_ssize_t)strlen(body);
		archive_entry_free(e);
		free(p);
		free(body);
		if (!w) {
			sy_error_set(err, "%s: %s", path, archive_error_string(a));
			goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		sy_error_set(err, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	rc = 0;
out:
	archive_write_free(a);
	return rc;
}

/* <dir>/<base>.signatures.json: {"Signatures": {"<source>": "<sha256>"}}. */
static int write_signatures(const char *dir, const char *base, const char *source,
			    struct sy_error *err)
{
	char *src = sy_xasprintf("%s/%s", dir, source);
	char *path = sy_xasprintf("%s/%s.signatures.json", dir, base);
	char hex[SY_SHA256_HEX_LEN + 1];
	char *text = NULL;
	int rc = -1;
	if (sy_sha256_file(src, hex, err) < 0)
		goto out;
	json_t *root = json_pack("{s:{s:s}}", "Signatures", source, hex);
	text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
	json_decref(root);
	if (!text) {
		sy_error_set(err, "%s: cannot encode JSON", path);
		goto out;
	}
	size_t len = strlen(text);
	text[len] = '\n'; /* json_dumps leaves no final newline; its NUL becomes one */
	rc = sy_write_file(path, text, len + 1, 0644, err);
out:
	free(text);
	free(src);
	free(path);
	return rc;
}

static char *spec_dir_path(const char *out, const struct gspec *s)
{
	return sy_xasprintf("%s/SPECS/%s", out, s->dir ? s->dir : s->base);
}

static int write_spec_file(const char *out, const struct distro *d, const struct gspec *s,
			   struct sy_error *err)
{
	char *dir = spec_dir_path(out, s);
	char *path = sy_xasprintf("%s/%s.spec", dir, s->base);
	char *text = render_spec(d, s);
	int rc = sy_write_file(path, text, strlen(text), 0644, err);
	free(text);
	free(path);
	free(dir);
	return rc;
}

/* Writes s's directory content: spec, source, signatures. */
static int write_spec_dir(const char *out, const struct distro *d, const struct gspec *s,
			  struct sy_error *err)
{
	char *dir = spec_dir_path(out, s);
	char *source = NULL, *src_path = NULL, *stem = NULL;
	int rc = -1;
	if (sy_mkdir_p(dir, 0755, err) < 0)
		goto out;
	if (s == &d->specs[0]) {
		source = sy_xstrdup("macros");
		src_path = sy_xasprintf("%s/macros", dir);
		if (sy_write_file(src_path, macros_text, strlen(macros_text), 0644, err) < 0)
			goto out;
	} else {
		stem = sy_xasprintf("%s-%s", s->name, s->version);
		source = sy_xasprintf("%s.tar.gz", stem);
		src_path = sy_xasprintf("%s/%s", dir, source);
		if (write_tarball(src_path, stem, err) < 0)
			goto out;
	}
	if (write_signatures(dir, s->base, source, err) < 0 || write_spec_file(out, d, s, err) < 0)
		goto out;
	rc = 0;
out:
	free(dir);
	free(source);
	free(src_path);
	free(stem);
	return rc;
}

static int git_fail(struct sy_error *err, const char *what)
{
	const git_error *e = git_error_last();
	return sy_error_set(err, "%s: %s", what, e ? e->message : "libgit2 error");
}

/* Stages every file of the work tree and commits it on HEAD at time t with
 * parent (NULL for the root commit); the new id goes to *oid. */
static int commit_all(git_repository *repo, const git_oid *parent, long t, const char *msg,
		      git_oid *oid, struct sy_error *err)
{
	git_index *idx = NULL;
	git_tree *tree = NULL;
	git_commit *par = NULL;
	git_signature *sig = NULL;
	git_oid tree_oid;
	int rc = -1;
	if (git_repository_index(&idx, repo) < 0 ||
	    git_index_add_all(idx, NULL, GIT_INDEX_ADD_DEFAULT, NULL, NULL) < 0 ||
	    git_index_write(idx) < 0 || git_index_write_tree(&tree_oid, idx) < 0 ||
	    git_tree_lookup(&tree, repo, &tree_oid) < 0) {
		git_fail(err, "staging the work tree");
		goto out;
	}
	if (parent && git_commit_lookup(&par, repo, parent) < 0) {
		git_fail(err, "looking up the parent commit");
		goto out;
	}
	const git_commit *parents[1] = { par };
	if (git_signature_new(&sig, AUTHOR, EMAIL, (git_time_t)t, 0) < 0 ||
	    git_commit_create(oid, repo, "HEAD", sig, sig, NULL, msg, tree, par ? 1 : 0,
			      parents) < 0) {
		git_fail(err, "creating a commit");
		goto out;
	}
	rc = 0;
out:
	git_signature_free(sig);
	git_commit_free(par);
	git_tree_free(tree);
	git_index_free(idx);
	return rc;
}

/* One spec-directory change: a Release bump, or a patch added (with a
 * Release bump, as a maintainer would). Writes the files; fills msg. */
static int touch_spec(const char *out, struct distro *d, struct gspec *s, int add_patch, long t,
		      char **msg, struct sy_error *err)
{
	s->release++;
	if (add_patch) {
		char *dir = spec_dir_path(out, s);
		char *patch = sy_xasprintf("%s-fix-%zu.patch", s->name, s->patches.n + 1);
		char *path = sy_xasprintf("%s/%s", dir, patch);
		char *body = sy_xasprintf(
			"--- a/README\n+++ b/README\n@@ -1 +1,2 @@\n"
			" README of %s-%s, written by shipyard's bench/gen-distro.\n+fix %zu\n",
			s->name, s->version, s->patches.n + 1);
		int w = sy_write_file(path, body, strlen(body), 0644, err);
		free(body);
		free(path);
		free(dir);
		if (w < 0) {
			free(patch);
			return -1;
		}
		char *text = sy_xasprintf("Add %s.", patch);
		changelog_add(s, t, text);
		free(text);
		*msg = sy_xasprintf("%s: add %s", s->base, patch);
		sy_strv_push_owned(&s->patches, patch);
	} else {
		changelog_add(s, t, "Bump release to rebuild.");
		*msg = sy_xasprintf("%s: bump release to %d", s->base, s->release);
	}
	return write_spec_file(out, d, s, err);
}

/* A spec for the one-spec commits: not a hub, not the macros package. */
static struct gspec *pick_touched(struct distro *d, unsigned char *used)
{
	size_t first = 1 + NHUBS;
	for (size_t tries = 0; tries < 1000; tries++) {
		size_t i = first + rndn(d, d->n - first);
		if (!used[i]) {
			used[i] = 1;
			return &d->specs[i];
		}
	}
	return &d->specs[first + rndn(d, d->n - first)];
}

static int write_history(const char *out, struct distro *d, size_t ncommits, struct sy_error *err)
{
	git_repository *repo = NULL;
	git_oid oid, root;
	unsigned char *used = sy_xcalloc(d->n, 1);
	char *msg = NULL;
	int rc = -1;
	if (git_repository_init(&repo, out, 0) < 0) {
		git_fail(err, out);
		goto out;
	}
	if (commit_all(repo, NULL, EPOCH_2024, "Synthetic distribution\n", &root, err) < 0)
		goto out;
	oid = root;
	struct gspec *hub = &d->specs[1 + HUB_TOUCHED];
	if (touch_spec(out, d, hub, 0, EPOCH_2024 + DAY, &msg, err) < 0 ||
	    commit_all(repo, &oid, EPOCH_2024 + DAY, msg, &oid, err) < 0)
		goto out;
	free(msg);
	msg = NULL;
	for (size_t k = 0; k < ncommits; k++) {
		long t = EPOCH_2024 + (long)(k + 2) * DAY;
		if (touch_spec(out, d, pick_touched(d, used), (int)(k % 2), t, &msg, err) < 0 ||
		    commit_all(repo, &oid, t, msg, &oid, err) < 0)
			goto out;
		free(msg);
		msg = NULL;
	}
	char root_hex[GIT_OID_HEXSZ + 1], head_hex[GIT_OID_HEXSZ + 1];
	git_oid_tostr(root_hex, sizeof(root_hex), &root);
	git_oid_tostr(head_hex, sizeof(head_hex), &oid);
	printf("gen-distro: root %s\ngen-distro: head %s\n", root_hex, head_hex);
	rc = 0;
out:
	free(msg);
	free(used);
	git_repository_free(repo);
	return rc;
}

static void print_summary(const struct distro *d, size_t nchains, size_t ncommits)
{
	size_t brs = 0, pkgs = 0, dirs = 0, macro_users = 0, pc = 0, excl = 0, missing = 0;
	size_t *rdeps = sy_xcalloc(d->n, sizeof(*rdeps));
	for (size_t i = 0; i < d->n; i++) {
		const struct gspec *s = &d->specs[i];
		brs += s->nbrs + s->extra_brs.n;
		pkgs += 1 + !!(s->sub & SUB_DEVEL) + !!(s->sub & SUB_LIBS) + !!(s->sub & SUB_DOC);
		dirs += !s->dir || !strcmp(s->dir, s->base);
		pc += (size_t)s->pc;
		excl += (size_t)s->aarch64_only;
		for (size_t j = 0; j < s->nbrs; j++) {
			rdeps[s->brs[j].target]++;
			macro_users += s->brs[j].kind == DEP_MACRO;
		}
		for (size_t j = 0; j < s->extra_brs.n; j++)
			for (size_t m = 0; m < COUNT(missing_brs); m++)
				missing += !strcmp(s->extra_brs.items[j], missing_brs[m]);
	}
	printf("gen-distro: %zu specs in %zu directories, %zu binary packages, %zu BuildRequires\n",
	       d->n, dirs, pkgs, brs);
	printf("gen-distro: hubs (specs BuildRequiring them):");
	for (size_t h = 0; h < NHUBS; h++)
		printf(" %s %zu", hubs[h].name, rdeps[1 + h]);
	printf("\ngen-distro: %zu chains, %d cycles, %zu pkgconfig provides, %zu version-macro "
	       "BuildRequires, %zu BuildRequires on missing names, %zu specs excluded on x86_64\n",
	       nchains, d->buildable || d->n < 1 + NHUBS + 40 ? 0 : 2, pc, macro_users, missing, excl);
	printf("gen-distro: history: initial commit, %s Release bump, %zu one-spec commits\n",
	       hubs[HUB_TOUCHED].name, ncommits);
	free(rdeps);
}

static int generate(const char *out, size_t nspecs, uint64_t seed, size_t ncommits,
		    int buildable, struct sy_error *err)
{
	struct distro d = { .n = nspecs, .rng = seed, .buildable = buildable };
	int rc = -1;
	d.specs = sy_xcalloc(nspecs, sizeof(*d.specs));
	if (!hcreate_r(nspecs * 2 + 64, &d.names)) {
		free(d.specs);
		return sy_error_set(err, "hcreate_r: out of memory");
	}
	for (size_t i = 0; i < COUNT(toolchain_brs); i++)
		name_claim(&d, (char *)toolchain_brs[i]);
	for (size_t i = 0; i < COUNT(missing_brs); i++)
		name_claim(&d, (char *)missing_brs[i]);
	make_fixed_specs(&d);
	size_t nvariants = nspecs >= 600 && !buildable ? nspecs / 600 + 2 : 0;
	make_other_specs(&d, nspecs - nvariants);
	make_multi_spec_dirs(&d, nspecs - nvariants);
	make_edges(&d);
	size_t nchains = make_chains(&d);
	make_cycles(&d);
	make_version_macro_users(&d);
	for (size_t i = 0; i < d.n; i++) {
		d.specs[i].release = 1;
		changelog_add(&d.specs[i], EPOCH_2024, "Initial synthetic package.");
		if (write_spec_dir(out, &d, &d.specs[i], err) < 0)
			goto out;
	}
	if (write_history(out, &d, ncommits, err) < 0)
		goto out;
	print_summary(&d, nchains, ncommits);
	rc = 0;
out:
	for (size_t i = 0; i < d.n; i++) {
		struct gspec *s = &d.specs[i];
		free(s->base);
		free(s->dir);
		free(s->name);
		free(s->version);
		free(s->brs);
		free(s->reqs);
		sy_strv_release(&s->extra_brs);
		sy_strv_release(&s->patches);
		sy_strv_release(&s->changelog);
	}
	hdestroy_r(&d.names);
	free(d.specs);
	return rc;
}

static int usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: gen-distro --specs N --out DIR [--seed S] [--commits K] [--buildable]\n"
		"Writes a synthetic distribution of N specs (default 3000) as a git repository\n"
		"in DIR (absent or empty): an initial commit, a hub Release bump, then K\n"
		"(default 20) commits touching one spec directory each. --buildable: specs\n"
		"that build in moments, without cycles, names nothing provides, aarch64-only\n"
		"specs or multi-spec directories.\n");
	return status;
}

/* Parses a non-negative decimal number; returns 0 or -1. */
static int parse_size(const char *s, unsigned long long *v)
{
	char *end;
	if (!*s || *s == '-')
		return -1;
	*v = strtoull(s, &end, 10);
	return *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "specs", required_argument, NULL, 'n' }, { "out", required_argument, NULL, 'o' },
		{ "seed", required_argument, NULL, 's' },  { "commits", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },        { "buildable", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long nspecs = 3000, seed = 1, ncommits = 20, *v;
	const char *out = NULL;
	int c, buildable = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; continue;
		case 'h': return usage(0);
		case 'b': buildable = 1; continue;
		case 'n': v = &nspecs; break;
		case 's': v = &seed; break;
		case 'k': v = &ncommits; break;
		default: return usage(2);
		}
		if (parse_size(optarg, v) < 0) {
			fprintf(stderr, "gen-distro: --%s needs a number, not '%s'\n",
				c == 'n' ? "specs" : c == 's' ? "seed" : "commits", optarg);
			return 2;
		}
	}
	if (!out || optind != argc)
		return usage(2);
	if (nspecs < 1 + NHUBS + 1 || ncommits + 1 + NHUBS >= nspecs) {
		fprintf(stderr, "gen-distro: --specs must be at least %zu and more than --commits + %zu\n",
			1 + NHUBS + 1, 1 + NHUBS);
		return 2;
	}
	struct sy_error err = { "" };
	if (sy_exists(out) && rmdir(out) < 0) {
		fprintf(stderr, "gen-distro: %s: exists and is not an empty directory\n", out);
		return 2;
	}
	git_libgit2_init();
	int rc = generate(out, (size_t)nspecs, seed, (size_t)ncommits, buildable, &err);
	git_libgit2_shutdown();
	if (rc < 0) {
		fprintf(stderr, "gen-distro: %s\n", err.msg);
		return 1;
	}
	return 0;
}
