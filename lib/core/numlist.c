/* numlist.c — comma-separated number lists (see numlist.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "core/numlist.h"

int nni_parse_float_list(const char *s, float *out, int cap)
{
    int n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0')
            return n;
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno || !isfinite(v) || n == cap)
            return -1;
        out[n++] = (float)v;
        while (*end == ' ' || *end == '\t')
            end++;
        if (*end == '\0')
            return n;
        if (*end != ',')
            return -1;
        s = end + 1;
    }
}
