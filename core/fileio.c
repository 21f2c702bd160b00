#include "fileio.h"

#include <unistd.h>

struct fileio fileio = { read, write, close };
