/* Where the preloaded libraries are. The paths are compiled in: `make` gives the build directory's
 * library, `make install` compiles this file again with the installed path (no sed on a script).
 *   SOCKSIFY_LIB_PATH    the library for programs of the command's own architecture (required)
 *   SOCKSIFY_LIB32_PATH  the i386 library, when the build makes one (optional) */
#include <elf.h>
#include <stdlib.h>
#include <unistd.h>

#include "socksify.h"

#ifndef SOCKSIFY_LIB_PATH
#error "SOCKSIFY_LIB_PATH must name the library (the Makefile defines it)"
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

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

const char *libpath_library(void)
{
    return env_or("SOCKSIFY_LIB", SOCKSIFY_LIB_PATH);
}

/* The i386 library is optional: the build makes it only where the multilib toolchain exists. */
static const char *library32(void)
{
#ifdef SOCKSIFY_LIB32_PATH
    return env_or("SOCKSIFY_LIB32", SOCKSIFY_LIB32_PATH);
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
    return libpath_library();
}
