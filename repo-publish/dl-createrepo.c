/* createrepo_c and the few GLib functions shipyard calls with it (repodata
 * of published repositories), loaded on first use: see common/dynlib.h. */
#include <createrepo_c/createrepo_c.h>
#include <glib.h>

#include "common/dynlib.h"

static struct sy_dynlib createrepo = { .soname = "libcreaterepo_c.so.0" };
static struct sy_dynlib glib = { .soname = "libglib-2.0.so.0" };

SY_DYNLIB_FN(createrepo, int, cr_close, (CR_FILE *a, GError **b), (a, b))
SY_DYNLIB_FN(createrepo, int, cr_compress_file_with_stat, (const char *a, const char *b, cr_CompressionType c, cr_ContentStat *d, const char *e, gboolean f, GError **g), (a, b, c, d, e, f, g))
SY_DYNLIB_VOID(createrepo, cr_contentstat_free, (cr_ContentStat *a, GError **b), (a, b))
SY_DYNLIB_FN(createrepo, cr_ContentStat *, cr_contentstat_new, (cr_ChecksumType a, GError **b), (a, b))
SY_DYNLIB_FN(createrepo, int, cr_db_add_pkg, (cr_SqliteDb *a, cr_Package *b, GError **c), (a, b, c))
SY_DYNLIB_FN(createrepo, int, cr_db_close, (cr_SqliteDb *a, GError **b), (a, b))
SY_DYNLIB_FN(createrepo, int, cr_db_dbinfo_update, (cr_SqliteDb *a, const char *b, GError **c), (a, b, c))
SY_DYNLIB_FN(createrepo, cr_SqliteDb *, cr_db_open, (const char *a, cr_DatabaseType b, GError **c), (a, b, c))
SY_DYNLIB_VOID(createrepo, cr_package_free, (cr_Package *a), (a))
SY_DYNLIB_FN(createrepo, cr_Package *, cr_package_from_rpm, (const char *a, cr_ChecksumType b, const char *c, const char *d, int e, struct stat *f, cr_HeaderReadingFlags g, GError **h), (a, b, c, d, e, f, g, h))
SY_DYNLIB_FN(createrepo, cr_Package *, cr_package_new, (void), ())
SY_DYNLIB_FN(createrepo, int, cr_read, (CR_FILE *a, void *b, unsigned int c, GError **d), (a, b, c, d))
SY_DYNLIB_VOID(createrepo, cr_repomd_add_repo_tag, (cr_Repomd *a, const char *b), (a, b))
SY_DYNLIB_VOID(createrepo, cr_repomd_free, (cr_Repomd *a), (a))
SY_DYNLIB_FN(createrepo, cr_RepomdRecord *, cr_repomd_get_record, (cr_Repomd *a, const char *b), (a, b))
SY_DYNLIB_FN(createrepo, int, cr_repomd_record_fill, (cr_RepomdRecord *a, cr_ChecksumType b, GError **c), (a, b, c))
SY_DYNLIB_VOID(createrepo, cr_repomd_record_free, (cr_RepomdRecord *a), (a))
SY_DYNLIB_VOID(createrepo, cr_repomd_record_load_contentstat, (cr_RepomdRecord *a, cr_ContentStat *b), (a, b))
SY_DYNLIB_FN(createrepo, cr_RepomdRecord *, cr_repomd_record_new, (const char *a, const char *b), (a, b))
SY_DYNLIB_FN(createrepo, int, cr_repomd_record_rename_file, (cr_RepomdRecord *a, GError **b), (a, b))
SY_DYNLIB_VOID(createrepo, cr_repomd_set_record, (cr_Repomd *a, cr_RepomdRecord *b), (a, b))
SY_DYNLIB_VOID(createrepo, cr_repomd_sort_records, (cr_Repomd *a), (a))
SY_DYNLIB_FN(createrepo, CR_FILE *, cr_sopen, (const char *a, cr_OpenMode b, cr_CompressionType c, cr_ContentStat *d, GError **e), (a, b, c, d, e))
SY_DYNLIB_FN(createrepo, char *, cr_xml_dump_repomd, (cr_Repomd *a, GError **b), (a, b))
SY_DYNLIB_FN(createrepo, int, cr_xml_parse_filelists_snippet, (const char *a, cr_XmlParserNewPkgCb b, void *c, cr_XmlParserPkgCb d, void *e, cr_XmlParserWarningCb f, void *g, GError **h), (a, b, c, d, e, f, g, h))
SY_DYNLIB_FN(createrepo, int, cr_xml_parse_other_snippet, (const char *a, cr_XmlParserNewPkgCb b, void *c, cr_XmlParserPkgCb d, void *e, cr_XmlParserWarningCb f, void *g, GError **h), (a, b, c, d, e, f, g, h))
SY_DYNLIB_FN(createrepo, int, cr_xml_parse_primary_snippet, (const char *a, cr_XmlParserNewPkgCb b, void *c, cr_XmlParserPkgCb d, void *e, cr_XmlParserWarningCb f, void *g, int h, GError **i), (a, b, c, d, e, f, g, h, i))
SY_DYNLIB_FN(createrepo, int, cr_xml_parse_repomd, (const char *a, cr_Repomd *b, cr_XmlParserWarningCb c, void *d, GError **e), (a, b, c, d, e))
SY_DYNLIB_FN(createrepo, int, cr_xmlfile_add_chunk, (cr_XmlFile *a, const char *b, GError **c), (a, b, c))
SY_DYNLIB_FN(createrepo, int, cr_xmlfile_add_pkg, (cr_XmlFile *a, cr_Package *b, GError **c), (a, b, c))
SY_DYNLIB_FN(createrepo, int, cr_xmlfile_close, (cr_XmlFile *a, GError **b), (a, b))
SY_DYNLIB_FN(createrepo, int, cr_xmlfile_set_num_of_pkgs, (cr_XmlFile *a, long int b, GError **c), (a, b, c))
SY_DYNLIB_FN(createrepo, cr_XmlFile *, cr_xmlfile_sopen, (const char *a, cr_XmlFileType b, cr_CompressionType c, cr_ContentStat *d, GError **e), (a, b, c, d, e))
SY_DYNLIB_VOID(createrepo, cr_package_parser_init, (void), ())
SY_DYNLIB_FN(createrepo, cr_Repomd *, cr_repomd_new, (void), ())
SY_DYNLIB_VOID(createrepo, cr_xml_dump_init, (void), ())
SY_DYNLIB_VOID(glib, g_error_free, (GError *a), (a))
SY_DYNLIB_FN(glib, guint, g_log_set_handler, (const gchar *a, GLogLevelFlags b, GLogFunc c, gpointer d), (a, b, c, d))
SY_DYNLIB_FN(glib, GSList *, g_slist_find_custom, (GSList *a, gconstpointer b, GCompareFunc c), (a, b, c))
SY_DYNLIB_FN(glib, gchar *, g_string_chunk_insert, (GStringChunk *a, const gchar *b), (a, b))
