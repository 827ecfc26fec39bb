/*
 * fuzz_meta.c — structure-aware libFuzzer target for what a model's metadata
 * steers after loading: the fuzz bytes choose a small valid network (an
 * image input of some size, a 1x1 convolution with chosen filters and
 * biases, sometimes a Softmax) and hostile metadata_props values (nn.labels,
 * nn.input.*, nn.detect.*), then an image goes through nn_image_to_tensor,
 * nn_classify and nn_detect with that model. These parsers and decoders read
 * strings and shapes from the file; none of it may crash or over-allocate.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "onnx.pb-c.h"

typedef struct reader {
    const uint8_t *p;
    size_t n, pos;
} reader;

static uint8_t u8(reader *r) { return r->pos < r->n ? r->p[r->pos++] : 0; }

static const char *const keys[] = {
    "nn.labels", "nn.input.color", "nn.input.resize", "nn.input.mean", "nn.input.std", "nn.detect.family",
    "nn.detect.anchors", "nn.detect.masks", "nn.detect.classes", "nn.detect.letterbox",
};

static const char *const values[] = {
    "RGB", "BGR", "GRAY", "rgb", "letterbox", "stretch", "center_crop", "yolov2", "yolov3", "yolov5", "yolov8",
    "darknet", "0.485,0.456,0.406", "0.229,0.224,0.225", "0", "-1", "1e39", "nan", "inf", "0,0,0", ",", ",,",
    "10,13,16,30,33,23", "0,1,2;3,4,5", "0,1;2", "9999999999", "-2147483648", "2", "80", "1", "3", "a\nb\nc",
    "", "\n", "0.5", "1,2", "0,1,2", "6;7", "0;", ";0", "1,1,2,2,3,3", "2147483647", "1e-45",
};

/* A metadata value: a dictionary word, a few words joined, or raw bytes. */
static size_t make_value(reader *r, char *buf, size_t cap)
{
    size_t n = 0;
    uint8_t how = u8(r);
    if (how < 128) {
        n = (size_t)snprintf(buf, cap, "%s", values[u8(r) % (sizeof values / sizeof *values)]);
    } else if (how < 200) {
        int parts = 1 + u8(r) % 4;
        for (int i = 0; i < parts && n < cap - 1; i++) {
            int w = snprintf(buf + n, cap - n, "%s%s", i ? (u8(r) & 1 ? "," : ";") : "",
                             values[u8(r) % (sizeof values / sizeof *values)]);
            if (w < 0 || (size_t)w >= cap - n)
                break;
            n += (size_t)w;
        }
    } else {
        size_t len = u8(r) % 48;
        for (size_t i = 0; i < len && n < cap - 1; i++) {
            char c = (char)u8(r);
            buf[n++] = c ? c : ',';
        }
        buf[n] = '\0';
    }
    return n < cap ? n : cap - 1;
}

static uint8_t *build_model(reader *r, size_t *size)
{
    static const int32_t sizes[] = {8, 13, 16, 5, 32, 1, 4, 7};
    static const int32_t filters[] = {3, 6, 7, 14, 18, 21, 24, 85, 4, 10, 1, 2, 255, 12, 5, 30};
    int32_t S = sizes[u8(r) % 8], C = (u8(r) & 1) ? 3 : 1, F = filters[u8(r) % 16];
    bool symbolic = u8(r) < 64, softmax = u8(r) < 64;

    Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *opsets[1] = {&opset};
    model.has_ir_version = 1;
    model.ir_version = 8;
    opset.domain = "";
    opset.has_version = 1;
    opset.version = 13;
    model.n_opset_import = 1;
    model.opset_import = opsets;
    model.graph = &graph;

    /* input x [1, C, S, S] (H and W symbolic sometimes) */
    Onnx__TensorShapeProto__Dimension d[4];
    Onnx__TensorShapeProto__Dimension *dp[4];
    int64_t dims[4] = {1, C, S, S};
    for (int i = 0; i < 4; i++) {
        onnx__tensor_shape_proto__dimension__init(&d[i]);
        dp[i] = &d[i];
        if (symbolic && (i == 0 || i >= 2)) {
            d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d[i].dim_param = i == 0 ? "N" : i == 2 ? "H" : "W";
        } else {
            d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d[i].dim_value = dims[i];
        }
    }
    Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = 4;
    shape.dim = dp;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    tt.has_elem_type = 1;
    tt.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt.shape = &shape;
    Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
    type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type.tensor_type = &tt;
    Onnx__ValueInfoProto in = ONNX__VALUE_INFO_PROTO__INIT, out = ONNX__VALUE_INFO_PROTO__INIT;
    in.name = "x";
    in.type = &type;
    out.name = "y";
    Onnx__ValueInfoProto *ins[1] = {&in}, *outs[1] = {&out};
    graph.n_input = 1;
    graph.input = ins;
    graph.n_output = 1;
    graph.output = outs;

    /* Conv 1x1: zero weights but one, biases from the bytes (they become the outputs) */
    float *w = calloc((size_t)F * (size_t)C, sizeof *w), *b = calloc((size_t)F, sizeof *b);
    if (!w || !b) {
        free(w);
        free(b);
        return NULL;
    }
    w[0] = 0.5f;
    for (int32_t i = 0; i < F; i++) {
        int8_t v = (int8_t)u8(r);
        b[i] = (float)v / 16.0f;
    }
    int64_t wdims[4] = {F, C, 1, 1}, bdims[1] = {F};
    Onnx__TensorProto tw = ONNX__TENSOR_PROTO__INIT, tb = ONNX__TENSOR_PROTO__INIT;
    tw.name = "w";
    tw.n_dims = 4;
    tw.dims = wdims;
    tw.has_data_type = tb.has_data_type = 1;
    tw.data_type = tb.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tw.n_float_data = (size_t)F * (size_t)C;
    tw.float_data = w;
    tb.name = "b";
    tb.n_dims = 1;
    tb.dims = bdims;
    tb.n_float_data = (size_t)F;
    tb.float_data = b;
    Onnx__TensorProto *inits[2] = {&tw, &tb};
    graph.n_initializer = 2;
    graph.initializer = inits;
    Onnx__NodeProto conv = ONNX__NODE_PROTO__INIT, sm = ONNX__NODE_PROTO__INIT;
    char *conv_in[3] = {"x", "w", "b"}, *conv_out[1] = {softmax ? "c" : "y"};
    conv.op_type = "Conv";
    conv.n_input = 3;
    conv.input = conv_in;
    conv.n_output = 1;
    conv.output = conv_out;
    char *sm_in[1] = {"c"}, *sm_out[1] = {"y"};
    sm.op_type = "Softmax";
    sm.n_input = 1;
    sm.input = sm_in;
    sm.n_output = 1;
    sm.output = sm_out;
    Onnx__NodeProto *nodes[2] = {&conv, &sm};
    graph.n_node = softmax ? 2 : 1;
    graph.node = nodes;

    /* metadata */
    Onnx__StringStringEntryProto meta[8];
    Onnx__StringStringEntryProto *metap[8];
    char vals[8][128];
    size_t n_meta = u8(r) % 9;
    for (size_t i = 0; i < n_meta; i++) {
        onnx__string_string_entry_proto__init(&meta[i]);
        meta[i].key = (char *)keys[u8(r) % (sizeof keys / sizeof *keys)];
        make_value(r, vals[i], sizeof vals[i]);
        meta[i].value = vals[i];
        metap[i] = &meta[i];
    }
    model.n_metadata_props = n_meta;
    model.metadata_props = metap;

    *size = onnx__model_proto__get_packed_size(&model);
    uint8_t *bytes = malloc(*size);
    if (bytes)
        onnx__model_proto__pack(&model, bytes);
    free(w);
    free(b);
    return bytes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size, 0};
    size_t model_size = 0;
    uint8_t *bytes = build_model(&r, &model_size);
    if (!bytes)
        return 0;
    const char *dump = getenv("NN_FUZZ_DUMP");
    if (dump) {
        FILE *f = fopen(dump, "wb");
        if (f) {
            fwrite(bytes, 1, model_size, f);
            fclose(f);
        }
    }
    nn_load_options o;
    fuzz_load_options(&o);
    nn_model *m = NULL;
    nn_status st = nn_model_load_memory(bytes, model_size, &o, &m);
    free(bytes);
    fuzz_check_status(st);
    if (st != NN_OK)
        return 0;
    /* an image of a chosen size and content */
    int32_t w = 1 + u8(&r) % 24, h = 1 + u8(&r) % 24, ch = 1 + u8(&r) % 4;
    nn_image *im = NULL;
    uint8_t px[24 * 24 * 4];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(u8(&r) ^ (uint8_t)i);
    if (nn_image_create(w, h, ch, NN_DTYPE_UINT8, px, &im) != NN_OK) {
        nn_model_free(m);
        return 0;
    }
    const nn_image *imgs[1] = {im};
    nn_tensor *t = NULL;
    fuzz_check_status(nn_image_to_tensor(m, imgs, 1, NULL, &t));
    nn_tensor_free(t);

    nn_session_options so;
    nn_session_options_init(&so, NN_SESSION_OPTIONS_VERSION);
    so.num_threads = 1;
    nn_session *s = NULL;
    if (nn_session_create(m, &so, &s) == NN_OK) {
        nn_classification *c = NULL;
        st = nn_classify(s, imgs, 1, 5, NULL, &c);
        fuzz_check_status(st);
        if (st == NN_OK) {
            for (uint32_t k = 0; k < nn_classification_count(c, 0); k++) {
                const char *label = NULL;
                if (nn_classification_get(c, 0, k, NULL, NULL, &label) != NN_OK || !label)
                    __builtin_trap();
                (void)strlen(label);
            }
        }
        nn_classification_free(c);
        nn_detect_options dopt;
        nn_detect_options_init(&dopt, NN_DETECT_OPTIONS_VERSION);
        dopt.score_threshold = (float)(u8(&r) % 100) / 100.0f;
        dopt.input_width = 8 + u8(&r) % 32;
        dopt.input_height = 8 + u8(&r) % 32;
        nn_detections *d = NULL;
        st = nn_detect(s, im, &dopt, &d);
        fuzz_check_status(st);
        if (st == NN_OK) {
            for (uint32_t k = 0; k < nn_detections_count(d); k++) {
                float x0, y0, x1, y1, score;
                const char *label = NULL;
                if (nn_detections_get(d, k, &x0, &y0, &x1, &y1, &score, NULL, &label) != NN_OK)
                    __builtin_trap();
                if (!(x0 <= x1 && y0 <= y1) || isnan(score))
                    __builtin_trap(); /* boxes are ordered corners, clamped to the image */
            }
        }
        nn_detections_free(d);
        nn_session_free(s);
    }
    nn_image_free(im);
    nn_model_free(m);
    return 0;
}
