/* userns.h: can an unprivileged user create user namespaces here?
 * (Rootless containers need one.)  Reads the sysctls that forbid it. */
#ifndef OHR_USERNS_H
#define OHR_USERNS_H

#include <stdbool.h>

/* false, with *why set to a static explanation and fix, when forbidden. */
bool userns_available (const char **why);

#endif
