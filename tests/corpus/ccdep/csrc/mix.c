/* __FILE__ puts the source path into the object: with canonical paths it
 * is the same for every checkout. */
#include <stdint.h>

const char *ohr_mix_origin (void) { return __FILE__; }

uint32_t
ohr_mix (uint32_t x)
{
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  return x;
}
