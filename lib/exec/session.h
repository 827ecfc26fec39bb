/* session.h — what other parts of the library may ask of an nn_session. */
#ifndef NNI_SESSION_H
#define NNI_SESSION_H

#include "core/common.h"

/** The model a session runs (never NULL for a valid session). */
const nn_model *nni_session_model(const nn_session *session);

#endif
