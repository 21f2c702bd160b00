/* Where small state written at start-up lives, in the library (before main()) and in the command
 * (on its way to starting the program). */
#ifndef SOCKSIFY_STARTUP_DATA_H
#define SOCKSIFY_STARTUP_DATA_H

/* The pages of initialised data, which the loader maps and the start-up writes anyway, rather
 * than .bss, where each page costs a page fault of its own at its first touch (10-15 us on the
 * virtual machines measured: most of the start-up cost). For small variables only. */
#define STARTUP_DATA __attribute__((section(".data.startup")))

#endif
