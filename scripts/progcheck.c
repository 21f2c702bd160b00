/* Before the command starts a program it reads what the kernel will run, so that a program the
 * preloaded library cannot enter is refused instead of silently connecting directly (measured:
 * static, Go and 32-bit clients all went direct under the old wrapper, which said nothing). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "socksify.h"
#include "text.h"

/* The kernel follows at most this many "#!" interpreters in a row (BINPRM_MAX_RECURSION). */
#define SCRIPT_DEPTH_MAX 4
/* The kernel reads this much of a script for its "#!" line (BINPRM_BUF_SIZE). */
#define SHEBANG_MAX 256
/* Sections a Go linker writes: the build id, the build info and the PC/line table. Stripping the
 * symbols (-ldflags=-s) keeps them, and so does a cgo program linked by the system linker. */
static const char *const go_sections[] = { ".note.go.buildid", ".go.buildinfo", ".gopclntab" };
/* Bounds on what a well-formed file holds; a larger table is read as "no sections". */
#define SHSTRTAB_MAX ((size_t)1 << 20)
#define TABLE_MAX ((size_t)1 << 20)

/* The parts of an ELF file header the checks use, the same for both classes. */
struct elf_file {
    int fd;
    int elf_class;
    int machine;
    uint64_t phoff, shoff;
    unsigned phnum, phentsize, shnum, shentsize, shstrndx;
};

/* ---------- finding the program ---------- */

static bool is_runnable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* The PATH execvp(3) searches: $PATH, or the system's default when it is unset. */
static const char *search_path(void)
{
    static char fallback[256];
    const char *p = getenv("PATH");
    if (p)
        return p;
    if (confstr(_CS_PATH, fallback, sizeof(fallback)) == 0 || fallback[0] == '\0')
        snprintf(fallback, sizeof(fallback), "/bin:/usr/bin");
    return fallback;
}

/* Resolves name into path (PATH_MAX) as execvp does: the first directory holding a runnable regular
 * file of that name (an empty entry is the working directory). -ENOENT if none; -EACCES if a
 * file of that name exists but cannot be run. */
static int resolve_program(const char *name, char *path)
{
    if (!*name)
        return -ENOENT;
    if (strchr(name, '/')) {
        text_copy(path, PATH_MAX, name);
        return is_runnable_file(path) ? 0 : access(path, F_OK) == 0 ? -EACCES : -ENOENT;
    }
    int found_unrunnable = 0;
    for (const char *dir = search_path(), *end; ; dir = end + 1) {
        end = strchrnul(dir, ':');
        size_t n = (size_t)(end - dir);
        bool fits = n < PATH_MAX && (memcpy(path, dir, n), text_join(path + n, PATH_MAX - n, n ? "/" : "", name,
                                                                      (const char *)NULL) < PATH_MAX - n);
        if (fits && is_runnable_file(path))
            return 0;
        found_unrunnable |= fits && access(path, F_OK) == 0;
        if (!*end)
            break;
    }
    text_copy(path, PATH_MAX, name);
    return found_unrunnable ? -EACCES : -ENOENT;
}

/* ---------- reading ELF ---------- */

static int read_at(int fd, void *buf, size_t size, uint64_t offset)
{
    ssize_t n = pread(fd, buf, size, (off_t)offset);
    return n == (ssize_t)size ? 0 : -ENOEXEC;
}

/* Fills f from the file header in raw (both classes, little-endian: the only kind that runs here). */
static int elf_parse_header(struct elf_file *f, const unsigned char *raw, size_t len)
{
    if (len < EI_NIDENT || memcmp(raw, ELFMAG, SELFMAG) != 0)
        return -ENOEXEC;
    f->elf_class = raw[EI_CLASS];
    if (f->elf_class == ELFCLASS64 && len >= sizeof(Elf64_Ehdr)) {
        Elf64_Ehdr h;
        memcpy(&h, raw, sizeof(h));
        *f = (struct elf_file){ f->fd, ELFCLASS64, h.e_machine, h.e_phoff, h.e_shoff, h.e_phnum,
                                h.e_phentsize, h.e_shnum, h.e_shentsize, h.e_shstrndx };
    } else if (f->elf_class == ELFCLASS32 && len >= sizeof(Elf32_Ehdr)) {
        Elf32_Ehdr h;
        memcpy(&h, raw, sizeof(h));
        *f = (struct elf_file){ f->fd, ELFCLASS32, h.e_machine, h.e_phoff, h.e_shoff, h.e_phnum,
                                h.e_phentsize, h.e_shnum, h.e_shentsize, h.e_shstrndx };
    } else {
        return -ENOEXEC;
    }
    if (raw[EI_DATA] != ELFDATA2LSB)
        f->machine = -1;   /* big-endian: nothing of ours runs it */
    return 0;
}

/* A table of count entries of entsize bytes at off, read with one pread (malloc'd), or NULL if it
 * is empty, larger than TABLE_MAX or cannot be read: a few calls instead of one per entry. */
static unsigned char *read_table(int fd, uint64_t off, unsigned count, unsigned entsize)
{
    size_t size = (size_t)count * entsize;
    if (size == 0 || size > TABLE_MAX)
        return NULL;
    unsigned char *t = malloc(size);
    if (t && read_at(fd, t, size, off) < 0) {
        free(t);
        t = NULL;
    }
    return t;
}

/* True if a program header says PT_INTERP: the kernel starts the dynamic loader, which preloads.
 * p_type is the first field of both Elf32_Phdr and Elf64_Phdr. */
static bool elf_has_interpreter(const struct elf_file *f)
{
    size_t want = f->elf_class == ELFCLASS64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    unsigned char *t = f->phentsize < want ? NULL : read_table(f->fd, f->phoff, f->phnum, f->phentsize);
    bool found = false;
    for (unsigned i = 0; t && !found && i < f->phnum; i++) {
        uint32_t type;
        memcpy(&type, t + (size_t)i * f->phentsize, sizeof(type));
        found = type == PT_INTERP;
    }
    free(t);
    return found;
}

/* Section i's name offset, file offset and size, for either class, from the section header table
 * (f->shnum entries, f->shentsize bytes each, checked to hold a whole header by the caller). */
static void elf_section(const struct elf_file *f, const unsigned char *table, unsigned i, uint32_t *name,
                        uint64_t *off, uint64_t *size)
{
    const unsigned char *at = table + (size_t)i * f->shentsize;
    if (f->elf_class == ELFCLASS64) {
        Elf64_Shdr s;
        memcpy(&s, at, sizeof(s));
        *name = s.sh_name, *off = s.sh_offset, *size = s.sh_size;
    } else {
        Elf32_Shdr s;
        memcpy(&s, at, sizeof(s));
        *name = s.sh_name, *off = s.sh_offset, *size = s.sh_size;
    }
}

/* The section header table, or NULL if there is none whose entries hold a whole header. */
static unsigned char *elf_section_table(const struct elf_file *f)
{
    size_t want = f->elf_class == ELFCLASS64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
    if (f->shoff == 0 || f->shentsize < want)
        return NULL;
    return read_table(f->fd, f->shoff, f->shnum, f->shentsize);
}

/* The section-name string table, NUL-terminated (malloc'd), or NULL if there is none to read. */
static char *elf_section_names(const struct elf_file *f, const unsigned char *table, size_t *len)
{
    uint32_t name;
    uint64_t off, size;
    if (f->shstrndx == SHN_UNDEF || f->shstrndx >= f->shnum)
        return NULL;
    elf_section(f, table, f->shstrndx, &name, &off, &size);
    if (size == 0 || size > SHSTRTAB_MAX)
        return NULL;
    char *names = malloc(size + 1);
    if (!names || read_at(f->fd, names, size, off) < 0) {
        free(names);
        return NULL;
    }
    names[size] = '\0';
    *len = size;
    return names;
}

static bool is_go_section(const char *name)
{
    for (size_t i = 0; i < sizeof(go_sections) / sizeof(go_sections[0]); i++)
        if (strcmp(name, go_sections[i]) == 0)
            return true;
    return false;
}

/* True if a section only Go's toolchain writes is there. A Go program makes its own system calls
 * for the network (also with cgo, which only its name lookups may route through libc). */
static bool elf_is_go(const struct elf_file *f)
{
    size_t len = 0;
    unsigned char *table = elf_section_table(f);
    char *names = table ? elf_section_names(f, table, &len) : NULL;
    bool go = false;
    for (unsigned i = 0; names && !go && i < f->shnum; i++) {
        uint32_t name;
        uint64_t off, size;
        elf_section(f, table, i, &name, &off, &size);
        go = name < len && is_go_section(names + name);
    }
    free(names);
    free(table);
    return go;
}

/* ---------- the verdicts ---------- */

static const char *class_name(int elf_class)
{
    return elf_class == ELFCLASS32 ? "32-bit" : elf_class == ELFCLASS64 ? "64-bit" : "unknown-class";
}

static const char *machine_name(int machine)
{
    switch (machine) {
    case EM_386: return "i386";
    case EM_X86_64: return "x86-64";
    case EM_AARCH64: return "aarch64";
    case EM_ARM: return "arm";
    case -1: return "big-endian";
    default: return "other-architecture";
    }
}

/* True if running the file at st makes the kernel set AT_SECURE, which makes the loader ignore
 * LD_PRELOAD: its set-user-ID or set-group-ID bit gives ids other than our real ones (so root
 * running a set-user-ID-root program keeps LD_PRELOAD: euid == uid), or file capabilities are
 * gained (not by root, who has them all already). A nosuid mount ignores both. */
static bool loader_drops_preload(int fd, const struct stat *st)
{
    uid_t euid = (st->st_mode & S_ISUID) ? st->st_uid : geteuid();
    gid_t egid = (st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP) ? st->st_gid : getegid();
    bool gains = euid != getuid() || egid != getgid() ||
                 (geteuid() != 0 && fgetxattr(fd, "security.capability", NULL, 0) > 0);
    /* A nosuid mount ignores the bits and the capabilities (asked last: most programs gain nothing). */
    struct statvfs vfs;
    return gains && !(fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_NOSUID));
}

static const char *privilege_name(const struct stat *st)
{
    if (st->st_mode & S_ISUID)
        return "set-user-ID";
    return (st->st_mode & S_ISGID) ? "set-group-ID" : "given file capabilities";
}

#define REFUSE(out, ...) (snprintf((out)->why, sizeof((out)->why), __VA_ARGS__), -EPERM)

static int refuse_privileged(const struct stat *st, const char *path, struct program_check *out)
{
    out->privileged = true;
    return REFUSE(out, "%s is %s: the system's loader ignores LD_PRELOAD for it, so its connections "
                  "would bypass the proxy (run a copy without that, or run it as its owner)", path,
                  privilege_name(st));
}

/* How a refusal names the file path: itself, and the script it interprets if any. Made only for a
 * refusal: out->subject is 8 KiB, each page of it written a page fault. */
static const char *subject(struct program_check *out, const char *path, const char *script)
{
    if (script)
        text_join(out->subject, sizeof(out->subject), path, " (the interpreter of ", script, ")", (const char *)NULL);
    else
        text_copy(out->subject, sizeof(out->subject), path);
    return out->subject;
}

/* The verdict on an ELF file (path; script: the script it interprets, or NULL): can the library
 * of its class be preloaded into it? Under the supervisor only the privileges count: it carries
 * the rest (and the reading is saved). */
static int check_elf(struct elf_file *f, const struct stat *st, const char *path, const char *script,
                     struct program_check *out)
{
    if (out->supervised)
        return loader_drops_preload(f->fd, st) ? refuse_privileged(st, subject(out, path, script), out) : 0;
    if (!libpath_for(f->elf_class, f->machine))
        return REFUSE(out, "%s is a %s %s program, and socksify has no library for that architecture here: "
                      "its connections would bypass the proxy (a 64-bit build of it works; for i386, "
                      "install gcc-multilib and build socksify again)", subject(out, path, script),
                      class_name(f->elf_class), machine_name(f->machine));
    if (loader_drops_preload(f->fd, st))
        return refuse_privileged(st, subject(out, path, script), out);
    if (elf_is_go(f))
        return REFUSE(out, "%s is a Go program: it makes its own system calls, so the preloaded library "
                      "cannot see its connections and they would bypass the proxy (Go's net/http honours "
                      "HTTPS_PROXY=socks5://HOST:PORT instead)", subject(out, path, script));
    if (!elf_has_interpreter(f))
        return REFUSE(out, "%s is statically linked: the preloaded library cannot enter it, so its "
                      "connections would bypass the proxy (use a dynamically linked build of it)",
                      subject(out, path, script));
    return 0;
}

static int check_file(const char *path, const char *script, int depth, struct program_check *out);

/* The program `#!/usr/bin/env NAME` runs: NAME found in PATH, checked like the script's own
 * interpreter. Options of env (-S...) and assignments are not followed: 0, env decides then. */
static int check_env_target(const char *script, const char *arg, int depth, struct program_check *out)
{
    char name[SHEBANG_MAX], path[PATH_MAX];
    size_t n = strcspn(arg, " \t");
    if (n == 0 || arg[0] == '-' || memchr(arg, '=', n))
        return 0;
    snprintf(name, sizeof(name), "%.*s", (int)n, arg);
    if (resolve_program(name, path) < 0)
        return 0;   /* env will say it is missing; nothing runs */
    return check_file(path, script, depth, out);
}

/* A "#!" script (line: what follows "#!" up to the newline): the kernel runs its interpreter, so
 * the verdict is the interpreter's. */
static int check_script(const char *path, char *line, int depth, struct program_check *out)
{
    line[strcspn(line, "\n")] = '\0';
    char *interp = line + strspn(line, " \t");
    char *arg = interp + strcspn(interp, " \t");
    if (*arg)
        *arg++ = '\0';
    arg += strspn(arg, " \t");
    if (!*interp) {
        snprintf(out->why, sizeof(out->why), "%s: its #! line names no interpreter", path);
        return -EACCES;
    }
    if (depth >= SCRIPT_DEPTH_MAX) {
        snprintf(out->why, sizeof(out->why), "%s: too many levels of #! interpreters", path);
        return -EACCES;
    }
    int r = check_file(interp, path, depth + 1, out);
    if (r == -ENOENT || r == -EACCES)
        snprintf(out->why, sizeof(out->why), "%s: bad interpreter %s: %s", path, interp, strerror(-r));
    const char *slash = strrchr(interp, '/');
    if (r == 0 && strcmp(slash ? slash + 1 : interp, "env") == 0)
        r = check_env_target(path, arg, depth + 1, out);
    return r;
}

/* Reads the start of the file at path and gives the verdict on what the kernel will run; script:
 * the script whose interpreter it is, or NULL. */
static int check_file(const char *path, const char *script, int depth, struct program_check *out)
{
    char head[SHEBANG_MAX + 1];
    struct stat st;
    struct elf_file f = { .fd = open(path, O_RDONLY | O_CLOEXEC) };
    if (f.fd < 0 || fstat(f.fd, &st) < 0) {
        int e = errno;
        if (f.fd >= 0)
            close(f.fd);
        snprintf(out->why, sizeof(out->why), "cannot read %s to check that socksify can enter it: %s", path, strerror(e));
        return e == ENOENT ? -ENOENT : -EPERM;
    }
    ssize_t len = pread(f.fd, head, SHEBANG_MAX, 0);
    head[len > 0 ? len : 0] = '\0';
    int r;
    if (len >= 2 && head[0] == '#' && head[1] == '!')
        r = check_script(path, head + 2, depth, out);
    else if (elf_parse_header(&f, (unsigned char *)head, len > 0 ? (size_t)len : 0) == 0)
        r = check_elf(&f, &st, path, script, out);
    else if (depth == 0) {
        out->run_with_sh = true;   /* execvp's fallback for a file the kernel cannot run */
        r = check_file("/bin/sh", path, depth + 1, out);
    } else {
        snprintf(out->why, sizeof(out->why), "%s: %s", path, strerror(ENOEXEC));
        r = -EACCES;
    }
    close(f.fd);
    return r;
}

int program_check(const char *name, struct program_check *out)
{
    out->run_with_sh = out->privileged = false;
    int r = resolve_program(name, out->path);
    if (r < 0) {
        snprintf(out->why, sizeof(out->why), "%s: %s", name,
                 r == -ENOENT && !strchr(name, '/') ? "command not found" : strerror(-r));
        return r;
    }
    return check_file(out->path, NULL, 0, out);
}
