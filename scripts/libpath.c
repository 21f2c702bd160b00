/* Where the preloaded libraries are. The paths are compiled in: `make` gives the build directory's
 * library, `make install` compiles this file again with the installed path (no sed on a script).
 *   SOCKSIFY_LIB_ROOT    where the per-class directories are (required)
 *   SOCKSIFY_LIB_DIR     what the loader's $LIB becomes for the command's own class (required)
 *   SOCKSIFY_LIB_DIR32   what it becomes for i386 programs, when the build makes that library */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "socksify.h"
#include "text.h"

#ifndef SOCKSIFY_LIB_ROOT
#error "SOCKSIFY_LIB_ROOT and SOCKSIFY_LIB_DIR must say where the libraries are (the Makefile defines them)"
#endif

/* The command is built by the same compiler as the library, so its own architecture is the one
 * the library was built for. */
#if defined(__x86_64__) && defined(__LP64__)
#define NATIVE_CLASS ELFCLASS64
#define NATIVE_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define NATIVE_CLASS ELFCLASS64
#define NATIVE_MACHINE EM_AARCH64
#elif defined(__i386__)
#define NATIVE_CLASS ELFCLASS32
#define NATIVE_MACHINE EM_386
#else
#error "add this architecture's ELF class and machine here"
#endif

/* The library's path with the loader's $LIB token in it: each program gets the library of its
 * own class (ROOT/lib/x86_64-linux-gnu/libsocksify.so, ROOT/lib32/libsocksify.so on Debian).
 * SOCKSIFY_LIB (another build, e.g. the sanitizers') may hold the token or name one file. */
static const char *template(void)
{
    const char *v = getenv("SOCKSIFY_LIB");
    return v && *v ? v : SOCKSIFY_LIB_ROOT "/$LIB/libsocksify.so";
}

/* template() with $LIB replaced by dir (NULL: a class the build has no library for, unless the
 * template names one file). A static buffer: the command asks once per program. */
static const char *expand(const char *dir)
{
    static char path[4096];
    const char *t = template(), *at = strstr(t, "$LIB");
    if (!at)
        return dir ? t : NULL;
    size_t n = (size_t)(at - t);
    if (!dir || n >= sizeof(path))
        return NULL;
    memcpy(path, t, n);
    return text_join(path + n, sizeof(path) - n, dir, at + 4, (const char *)NULL) < sizeof(path) - n ? path : NULL;
}

const char *libpath_library(void)
{
    return expand(SOCKSIFY_LIB_DIR);
}

/* The i386 library is optional: the build makes it only where the multilib toolchain exists. */
static const char *library32(void)
{
    const char *v = getenv("SOCKSIFY_LIB32");
    if (v && *v)
        return v;
#ifdef SOCKSIFY_LIB_DIR32
    return strstr(template(), "$LIB") ? expand(SOCKSIFY_LIB_DIR32) : NULL;
#else
    return NULL;
#endif
}

const char *libpath_for(int elf_class, int machine)
{
    const char *path = NULL;
    if (elf_class == NATIVE_CLASS && machine == NATIVE_MACHINE)
        path = libpath_library();
    else if (elf_class == ELFCLASS32 && machine == EM_386)
        path = library32();
    return path && access(path, R_OK) == 0 ? path : NULL;
}

const char *libpath_preload_entry(void)
{
    return template();
}
