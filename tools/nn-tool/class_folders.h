/* class_folders.h — datasets with one subfolder of images per class (`eval`, `train`). */
#ifndef NN_TOOL_CLASS_FOLDERS_H
#define NN_TOOL_CLASS_FOLDERS_H

#include <stdbool.h>
#include <stdint.h>

/** "a/b", malloc'd (NULL when out of memory). */
char *folder_join(const char *a, const char *b);
/** Sorted names in dir (hidden ones skipped) that are folders (want_dirs) or not; the count, or -1. */
int folder_list(const char *dir, bool want_dirs, char ***out);
void folder_list_free(char **v, int n);
/** Folder f -> class cls[f]: by label name (exact, then ignoring case and punctuation), else by number
 *  ("0", "1", ...; below nl when there are labels), else by sorted order; each way only when the classes
 *  come out distinct. Returns the way taken: "name", "number" or "sorted order". */
const char *folder_classes(char **folders, int nf, char **labels, uint32_t nl, int *cls);

#endif
