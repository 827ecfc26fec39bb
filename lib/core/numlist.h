/* numlist.h — comma-separated number lists in metadata values ("0.485, 0.456,0.406"). */
#ifndef NNI_NUMLIST_H
#define NNI_NUMLIST_H

/**
 * Parse up to `cap` finite floats separated by commas (spaces and tabs
 * around them allowed) into out. Returns the count (0 for an empty or blank
 * string), or -1 if malformed, non-finite, out of range or more than cap.
 */
int nni_parse_float_list(const char *s, float *out, int cap);

#endif
