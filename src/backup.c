/*
 * backup.c - oi_store_backup(): a consistent copy of the database in a new
 * file, and never a partial file at its destination.
 *
 * The backend copies (backend.h, backup: SQLite's online backup API); the
 * rest is here, once for every backend that can:
 *
 *   1. refuse what needs no file: the options, an empty path, a store
 *      inside a transaction (a snapshot of committed data, or the copy would
 *      hold the caller's uncommitted writes), a backend without backup (one
 *      line naming its own tools), a database without any schema revision;
 *   2. check the path: its directory exists, the path is not a directory,
 *      an existing file only with overwrite;
 *   3. create the copy's file beside the path (mkstemp: 0600, a name no one
 *      else has; the same directory, so the same file system and an atomic
 *      rename), and let the backend fill it;
 *   4. fsync it, move it to the path, fsync the directory: after a crash
 *      the path holds the old file or the whole copy.  Without overwrite
 *      the move is link() then unlink(): link fails if a file appeared at
 *      the path since step 2, where rename() would silently replace it.
 *
 * Any failure after step 3 unlinks the temporary file, so nothing is left
 * behind; only a process killed while copying leaves its
 * "PATH.incomplete-XXXXXX", by name never mistaken for a backup.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"
#include "table.h"

#define TEMP_SUFFIX ".incomplete-XXXXXX"

/* Permission and read-only failures are the path's, which the caller can
 * fix (OI_EINVALID); a full disk or an I/O error is not. */
static int code_of_errno(int err)
{
    return err == EACCES || err == EPERM || err == EROFS || err == ENOENT || err == ENOTDIR ||
                   err == ENAMETOOLONG
               ? OI_EINVALID
               : OI_ERROR;
}

static char *directory_of(const char *path)
{
    char *copy = oi_strdup(path);
    char *dir = oi_strdup(dirname(copy));
    free(copy);
    return dir;
}

static int check_directory(oi_store *s, const char *path, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return oi_fail(s, code_of_errno(errno), "cannot back up to %s: %s%s", path, dir,
                       errno == ENOENT ? " does not exist; create it first" : "");
    if (!S_ISDIR(st.st_mode))
        return oi_fail(s, OI_EINVALID, "cannot back up to %s: %s is not a directory", path, dir);
    return OI_OK;
}

static int check_path(oi_store *s, const char *path, bool overwrite)
{
    struct stat st;
    char *dir = directory_of(path);
    int rc = check_directory(s, path, dir);
    free(dir);
    if (rc || stat(path, &st) != 0)
        return rc;
    if (S_ISDIR(st.st_mode))
        return oi_fail(s, OI_EINVALID, "cannot back up to %s: it is a directory; name a file "
                       "in it, e.g. %s/optiinfra.db", path, path);
    if (!overwrite)
        return oi_fail(s, OI_EEXISTS, "cannot back up to %s: a file is already there, and a "
                       "backup replaces one only when told to", path);
    return OI_OK;
}

static int create_temporary(oi_store *s, const char *path, char **out)
{
    char *tmp = oi_sprintf("%s" TEMP_SUFFIX, path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int err = errno;
        char *dir = directory_of(path);
        int rc = oi_fail(s, code_of_errno(err), "cannot back up to %s: cannot create a file "
                         "in %s: %s", path, dir, strerror(err));
        free(dir);
        free(tmp);
        return rc;
    }
    close(fd);
    *out = tmp;
    return OI_OK;
}

/* fsync by path: the backend wrote and closed the file. */
static int sync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int move_into_place(oi_store *s, const char *tmp, const char *path, bool overwrite)
{
    if (sync_path(tmp, O_RDONLY) != 0)
        return oi_fail(s, OI_ERROR, "cannot back up to %s: syncing the copy: %s", path,
                       strerror(errno));
    if (overwrite ? rename(tmp, path) != 0 : link(tmp, path) != 0) {
        int err = errno;
        if (err == EEXIST)
            return oi_fail(s, OI_EEXISTS, "cannot back up to %s: a file appeared there while "
                           "copying, and a backup replaces one only when told to", path);
        return oi_fail(s, code_of_errno(err), "cannot back up to %s: %s", path, strerror(err));
    }
    if (!overwrite)
        unlink(tmp);
    /* The rename is durable once the directory is: a file system that
     * cannot sync a directory (EINVAL) has nothing to sync. */
    char *dir = directory_of(path);
    sync_path(dir, O_RDONLY | O_DIRECTORY);
    free(dir);
    return OI_OK;
}

/* A database without any revision is most likely the empty file that a
 * mistyped sqlite:PATH has just created: its backup would look like a
 * success and hold nothing.  Any revision is backed up, one this library
 * does not know (a newer one's: OI_ESCHEMA from oi_migrate_current) too. */
static int check_has_schema(oi_store *s)
{
    const char *current = NULL;
    int rc = oi_migrate_current(s, &current);
    if (rc == OI_ESCHEMA) {
        oi_clear_error(s);
        return OI_OK;
    }
    if (rc == OI_OK && !current)
        return oi_fail(s, OI_ESCHEMA, "the database has no schema revision: nothing to back up");
    return rc;
}

static int check_call(oi_store *s, const char *path, const oi_backup_options *opts)
{
    if (opts && oi_check_version(s, "oi_backup_options", opts->version,
                                 OI_BACKUP_OPTIONS_VERSION))
        return OI_EINVALID;
    if (!path || !*path)
        return oi_fail(s, OI_EINVALID, "a backup needs the path of the file to write");
    int rc = oi_store_ready(s);
    if (rc)
        return rc;
    if (s->tx_depth > 0)
        return oi_fail(s, OI_EINVALID, "a backup copies committed data and cannot run inside "
                       "a transaction: commit or roll back first");
    if (!s->backend->backup)
        return oi_fail(s, OI_EINVALID, "cannot back up a %s database here: use %s, the "
                       "server's own tools", s->backend->name, s->backend->backup_tools);
    return check_has_schema(s);
}

int oi_store_backup(oi_store *s, const char *path, const oi_backup_options *opts)
{
    bool overwrite = opts && opts->overwrite;
    char *tmp = NULL;
    int rc = check_call(s, path, opts);
    if (rc == OI_OK)
        rc = check_path(s, path, overwrite);
    if (rc == OI_OK)
        rc = create_temporary(s, path, &tmp);
    if (rc)
        return rc;
    oi_clear_error(s);
    rc = s->backend->backup(s->conn, tmp, path);
    if (rc == OI_OK) {
        rc = move_into_place(s, tmp, path, overwrite);
    } else {
        oi_fail_context(s, rc, "cannot back up to %s", path);
    }
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

int oi_backup_options_init(oi_backup_options *opts, unsigned int version)
{
    if (oi_struct_init(opts, sizeof *opts, "oi_backup_options", version,
                       OI_BACKUP_OPTIONS_VERSION))
        return OI_EINVALID;
    return OI_OK;
}
