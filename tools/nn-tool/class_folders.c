/* class_folders.c — listing a class-per-subfolder dataset and mapping its folders to the model's classes. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "class_folders.h"

static int visible(const struct dirent *d) { return d->d_name[0] != '.'; }

static bool is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

char *folder_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

void folder_list_free(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

int folder_list(const char *dir, bool want_dirs, char ***out)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, visible, alphasort), kept = 0;
    *out = NULL;
    if (n < 0)
        return -1;
    *out = calloc((size_t)n + 1, sizeof **out);
    for (int i = 0; i < n; i++) {
        char *p = folder_join(dir, ents[i]->d_name);
        if (*out && p && is_dir(p) == want_dirs)
            (*out)[kept++] = strdup(ents[i]->d_name);
        free(p);
        free(ents[i]);
    }
    free(ents);
    return *out ? kept : -1;
}

/* Lowercase letters and digits only: "T-shirt_top" matches "T-shirt/top". */
static void squash(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 1 < cap; s++)
        if (isalnum((unsigned char)*s))
            out[n++] = (char)tolower((unsigned char)*s);
    out[n] = '\0';
}

static int find_label(const char *folder, char **labels, uint32_t n)
{
    char a[256], b[256];
    for (uint32_t k = 0; k < n; k++)
        if (strcmp(folder, labels[k]) == 0)
            return (int)k;
    squash(folder, a, sizeof a);
    for (uint32_t k = 0; k < n && *a; k++) {
        squash(labels[k], b, sizeof b);
        if (strcmp(a, b) == 0)
            return (int)k;
    }
    return -1;
}

static bool distinct(const int *v, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (v[i] == v[j])
                return false;
    return true;
}

const char *folder_classes(char **folders, int nf, char **labels, uint32_t nl, int *cls)
{
    bool ok = nl > 0;
    for (int f = 0; f < nf && ok; f++)
        ok = (cls[f] = find_label(folders[f], labels, nl)) >= 0;
    if (ok && distinct(cls, nf))
        return "name";
    ok = true;
    for (int f = 0; f < nf && ok; f++) {
        char *end;
        long v = strtol(folders[f], &end, 10);
        ok = *end == '\0' && v >= 0 && (nl == 0 || v < (long)nl);
        cls[f] = (int)v;
    }
    if (ok && distinct(cls, nf))
        return "number";
    for (int f = 0; f < nf; f++)
        cls[f] = f;
    return "sorted order";
}
