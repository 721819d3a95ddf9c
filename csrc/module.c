/*
 * module.c -- the binding heifip._core: converts between Python and the C core, nothing else.
 *
 * Every entry point follows one shape (style.md §7, "GIL release"): parse arguments and acquire
 * buffers with the GIL held -> release the GIL -> run the whole C job (job.h, render.h, png.h) ->
 * re-acquire -> build results or raise.  The core never calls Python; its hf_status/hf_error
 * become exceptions here (raise_core_error), naming the file and the reason.
 *
 * Types:
 *   PacketList -- owns an hf_packet_list (the per-packet byte strings of one source).
 * Functions: read_file, read_memory, process_frames, render, render_packets, encode_png,
 *   write_png, probe.  Stubs with signatures: heifip/_core.pyi.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define PY_ARRAY_UNIQUE_SYMBOL heifip_ARRAY_API
#include <numpy/arrayobject.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "pythread.h"
#include "structmember.h"

#include "filter.h"
#include "job.h"
#include "png.h"
#include "reader.h"
#include "render.h"

/* Exception classes from heifip.errors, looked up once at import (module state). */
typedef struct module_state {
    PyObject *capture_format_error;  /* heifip.errors.CaptureFormatError */
    PyObject *image_parameter_error; /* heifip.errors.ImageParameterError */
    PyObject *heifip_error;          /* heifip.errors.HeifipError */
    PyObject *filter_error;          /* heifip.errors.FilterError */
    PyTypeObject *packet_list_type;
    PyTypeObject *flow_info_type;    /* _core.FlowInfo, the base of heifip.sessions.FlowMeta */
    PyTypeObject *cancel_type;       /* _core.Cancel */
    hf_png_pool *png_pool;           /* owned: idle PNG encoders (png.h; thread-safe, used with
                                        the GIL released); freed by module_free */
} module_state;

static module_state *state_of(PyObject *module) { return (module_state *)PyModule_GetState(module); }

/* ---------------------------------------------------------------------------------------------- */
/* Errors */

/* Raise the Python exception for a core failure.  `path` (may be NULL) names the file. */
static void raise_core_error(PyObject *module, hf_status status, const hf_error *error,
                             PyObject *path)
{
    module_state *st = state_of(module);
    const char *reason = error && error->reason[0] ? error->reason : hf_status_name(status);
    switch (status) {
    case HF_NOMEM:
        PyErr_NoMemory();
        return;
    case HF_NOTFOUND:
    case HF_IO: {
        int err = error && error->os_errno ? error->os_errno : (status == HF_NOTFOUND ? ENOENT : EIO);
        PyObject *exc_type = status == HF_NOTFOUND ? PyExc_FileNotFoundError : PyExc_OSError;
        PyObject *args = path ? Py_BuildValue("(isO)", err, strerror(err), path)
                              : Py_BuildValue("(is)", err, reason);
        if (args != NULL) {
            PyErr_SetObject(exc_type, args);
            Py_DECREF(args);
        }
        return;
    }
    case HF_FORMAT:
    case HF_UNSUPPORTED:
        if (path) PyErr_Format(st->capture_format_error, "%S: %s", path, reason);
        else PyErr_SetString(st->capture_format_error, reason);
        return;
    case HF_ARGUMENT:
    case HF_LIMIT:
        PyErr_SetString(st->image_parameter_error, reason);
        return;
    case HF_INTERRUPTED:
        PyErr_SetNone(PyExc_KeyboardInterrupt);
        return;
    default:
        if (path) PyErr_Format(st->heifip_error, "%S: %s (%s)", path, reason, hf_status_name(status));
        else PyErr_Format(st->heifip_error, "%s (%s)", reason, hf_status_name(status));
        return;
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* PacketList */

typedef struct {
    PyObject_HEAD
    hf_packet_list list;   /* owned */
    PyObject *damage;      /* owned: None, or (record_index, byte_offset, reason) */
} PacketList;

static void PacketList_dealloc(PacketList *self)
{
    PyTypeObject *type = Py_TYPE(self);
    hf_packet_list_free(&self->list);
    Py_CLEAR(self->damage);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PacketList *packet_list_new(PyObject *module)
{
    PyTypeObject *type = state_of(module)->packet_list_type;
    PacketList *self = (PacketList *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    hf_packet_list_init(&self->list);
    self->damage = Py_NewRef(Py_None);
    return self;
}

static Py_ssize_t PacketList_length(PacketList *self) { return (Py_ssize_t)self->list.count; }

static PyObject *PacketList_item(PacketList *self, Py_ssize_t i)
{
    if (i < 0 || (size_t)i >= self->list.count) {
        PyErr_SetString(PyExc_IndexError, "packet index out of range");
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)hf_packet_list_data(&self->list, (size_t)i),
                                     (Py_ssize_t)hf_packet_list_length(&self->list, (size_t)i));
}

static PyObject *PacketList_key(PacketList *self, PyObject *arg)
{
    Py_ssize_t i = PyLong_AsSsize_t(arg);
    if (i == -1 && PyErr_Occurred()) return NULL;
    if (self->list.key_offsets == NULL) {
        PyErr_SetString(PyExc_ValueError, "this packet list was read without keys");
        return NULL;
    }
    if (i < 0 || (size_t)i >= self->list.count) {
        PyErr_SetString(PyExc_IndexError, "packet index out of range");
        return NULL;
    }
    size_t start = self->list.key_offsets[i], end = self->list.key_offsets[i + 1];
    return PyBytes_FromStringAndSize((const char *)self->list.keys.data + start,
                                     (Py_ssize_t)(end - start));
}

static PyObject *PacketList_record_index(PacketList *self, PyObject *arg)
{
    Py_ssize_t i = PyLong_AsSsize_t(arg);
    if (i == -1 && PyErr_Occurred()) return NULL;
    if (i < 0 || (size_t)i >= self->list.count) {
        PyErr_SetString(PyExc_IndexError, "packet index out of range");
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(self->list.record_indices[i]);
}

/* Copy packets[i] for i in `indices` (a sequence of ints) into a new list (keys dropped). */
static PyObject *PacketList_select(PacketList *self, PyObject *indices)
{
    PyObject *module = PyType_GetModule(Py_TYPE(self));
    if (module == NULL) return NULL;
    PyObject *seq = PySequence_Fast(indices, "indices must be a sequence of ints");
    if (seq == NULL) return NULL;
    PacketList *out = packet_list_new(module);
    if (out == NULL) { Py_DECREF(seq); return NULL; }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t k = 0; k < n; k++) {
        Py_ssize_t i = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(seq, k));
        if (i == -1 && PyErr_Occurred()) goto fail;
        if (i < 0 || (size_t)i >= self->list.count) {
            PyErr_SetString(PyExc_IndexError, "packet index out of range");
            goto fail;
        }
        hf_status status = hf_packet_list_append(&out->list, hf_packet_list_data(&self->list, i),
                                                 hf_packet_list_length(&self->list, i),
                                                 self->list.timestamps_ns[i],
                                                 self->list.record_indices[i]);
        if (status != HF_OK) { PyErr_NoMemory(); goto fail; }
    }
    Py_DECREF(seq);
    return (PyObject *)out;
fail:
    Py_DECREF(seq);
    Py_DECREF(out);
    return NULL;
}

static PyObject *PacketList_get_damage(PacketList *self, void *closure)
{
    (void)closure;
    return Py_NewRef(self->damage);
}

static PyObject *PacketList_get_has_keys(PacketList *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->list.key_offsets != NULL);
}

static PyMethodDef PacketList_methods[] = {
    {"key", (PyCFunction)PacketList_key, METH_O, "key(i) -> bytes: de-duplication key of packet i"},
    {"record_index", (PyCFunction)PacketList_record_index, METH_O,
     "record_index(i) -> int: record number of packet i in its source"},
    {"select", (PyCFunction)PacketList_select, METH_O,
     "select(indices) -> PacketList: a new list with the given packets, in the given order"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef PacketList_getset[] = {
    {"damage", (getter)PacketList_get_damage, NULL,
     "None, or (record_index, byte_offset, reason) of the damage that ended the read", NULL},
    {"has_keys", (getter)PacketList_get_has_keys, NULL, "whether key(i) is available", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot PacketList_slots[] = {
    {Py_tp_dealloc, PacketList_dealloc},
    {Py_tp_methods, PacketList_methods},
    {Py_tp_getset, PacketList_getset},
    {Py_sq_length, PacketList_length},
    {Py_sq_item, PacketList_item},
    {Py_tp_doc, "The per-packet byte strings of one source (heifip 1.1.1's raw(fip.packet))."},
    {0, NULL},
};

static PyType_Spec PacketList_spec = {
    .name = "heifip._core.PacketList",
    .basicsize = sizeof(PacketList),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = PacketList_slots,
};

/* ---------------------------------------------------------------------------------------------- */
/* Reading */

static int make_config(int mode, int anonymize, unsigned long long seed,
                       unsigned long long limit, int collect_keys, hf_job_config *config)
{
    if (mode != HF_PREPROCESS_NONE && mode != HF_PREPROCESS_HEADER) {
        PyErr_Format(PyExc_ValueError, "unknown preprocessing mode %d", mode);
        return -1;
    }
    if (anonymize < HF_ANONYMIZE_RANDOM || anonymize > HF_ANONYMIZE_KEEP) {
        PyErr_Format(PyExc_ValueError, "unknown anonymize mode %d", anonymize);
        return -1;
    }
    config->mode = (hf_preprocess_mode)mode;
    hf_anonymizer_init(&config->anonymizer, (hf_anonymize_mode)anonymize, (uint64_t)seed);
    config->packet_limit = limit;
    config->collect_keys = collect_keys;
    config->scapy_compat = 1;  /* the 1.1.1 path: records exactly as scapy reads them */
    config->limit_kept = 0;    /* every packet whole (extract_file sets limits for its image) */
    config->keep_packets = config->keep_bytes = SIZE_MAX;
    return 0;
}

/* Attach the reader's damage report to the list as a tuple. */
static int set_damage(PacketList *list, const hf_error *damage)
{
    if (damage->status == HF_OK) return 0;
    PyObject *t = Py_BuildValue("(LLs)", (long long)damage->record_index,
                                (long long)damage->byte_offset, damage->reason);
    if (t == NULL) return -1;
    Py_SETREF(list->damage, t);
    return 0;
}

static PyObject *read_file(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"path", "mode", "anonymize", "seed", "limit", "collect_keys", NULL};
    PyObject *path = NULL;
    int mode = 0, anonymize = 0, collect_keys = 0;
    unsigned long long seed = 0, limit = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&|iiKKp", keywords, PyUnicode_FSConverter,
                                     &path, &mode, &anonymize, &seed, &limit, &collect_keys))
        return NULL;
    PyObject *result = NULL, *display = NULL;
    hf_job_config config;
    if (make_config(mode, anonymize, seed, limit, collect_keys, &config) < 0) goto done;
    PacketList *list = packet_list_new(module);
    if (list == NULL) goto done;
    hf_error error, damage;
    hf_error_clear(&error);
    hf_status status;
    const char *c_path = PyBytes_AS_STRING(path);
    Py_BEGIN_ALLOW_THREADS
    status = hf_job_read_file(c_path, &config, &list->list, &damage, &error);
    Py_END_ALLOW_THREADS
    if (status != HF_OK) {
        display = PyUnicode_DecodeFSDefault(c_path);
        if (display != NULL) raise_core_error(module, status, &error, display);
        Py_DECREF(list);
        goto done;
    }
    if (set_damage(list, &damage) < 0) { Py_DECREF(list); goto done; }
    result = (PyObject *)list;
done:
    Py_XDECREF(display);
    Py_XDECREF(path);
    return result;
}

static PyObject *read_memory(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"data", "mode", "anonymize", "seed", "limit", "collect_keys", NULL};
    Py_buffer data = {0};
    int mode = 0, anonymize = 0, collect_keys = 0;
    unsigned long long seed = 0, limit = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*|iiKKp", keywords, &data, &mode, &anonymize,
                                     &seed, &limit, &collect_keys))
        return NULL;
    PyObject *result = NULL;
    hf_job_config config;
    if (make_config(mode, anonymize, seed, limit, collect_keys, &config) < 0) goto done;
    PacketList *list = packet_list_new(module);
    if (list == NULL) goto done;
    hf_error error, damage;
    hf_error_clear(&error);
    hf_status status;
    Py_BEGIN_ALLOW_THREADS
    status = hf_job_read_memory(data.buf, (size_t)data.len, &config, &list->list, &damage, &error);
    Py_END_ALLOW_THREADS
    if (status != HF_OK) {
        raise_core_error(module, status, &error, NULL);
        Py_DECREF(list);
        goto done;
    }
    if (set_damage(list, &damage) < 0) { Py_DECREF(list); goto done; }
    result = (PyObject *)list;
done:
    PyBuffer_Release(&data);
    return result;
}

/* frames: a sequence of (bytes-like, linktype) */
static PyObject *process_frames(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"frames", "mode", "anonymize", "seed", "collect_keys", NULL};
    PyObject *frames_obj;
    int mode = 0, anonymize = 0, collect_keys = 0;
    unsigned long long seed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|iiKp", keywords, &frames_obj, &mode,
                                     &anonymize, &seed, &collect_keys))
        return NULL;
    hf_job_config config;
    if (make_config(mode, anonymize, seed, 0, collect_keys, &config) < 0) return NULL;
    PyObject *seq = PySequence_Fast(frames_obj, "frames must be a sequence of (bytes, linktype)");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), acquired = 0;
    PyObject *result = NULL;
    PacketList *list = NULL;
    Py_buffer *buffers = PyMem_Calloc(n ? (size_t)n : 1, sizeof(Py_buffer));
    hf_frame *frames = PyMem_Calloc(n ? (size_t)n : 1, sizeof(hf_frame));
    if (buffers == NULL || frames == NULL) { PyErr_NoMemory(); goto done; }
    for (; acquired < n; acquired++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, acquired);
        unsigned int linktype;
        if (!PyTuple_Check(item) ||
            !PyArg_ParseTuple(item, "y*I", &buffers[acquired], &linktype)) {
            if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_TypeError)) {
                PyErr_Clear();
                PyErr_Format(PyExc_TypeError,
                             "frame %zd: expected a (bytes, linktype) tuple", acquired);
            }
            goto done;
        }
        frames[acquired].data = buffers[acquired].buf;
        frames[acquired].length = (size_t)buffers[acquired].len;
        frames[acquired].linktype = linktype;
    }
    list = packet_list_new(module);
    if (list == NULL) goto done;
    hf_error error;
    hf_error_clear(&error);
    hf_status status;
    Py_BEGIN_ALLOW_THREADS
    status = hf_job_process_frames(frames, (size_t)n, &config, &list->list, &error);
    Py_END_ALLOW_THREADS
    if (status != HF_OK) {
        raise_core_error(module, status, &error, NULL);
        goto done;
    }
    result = (PyObject *)list;
    list = NULL;
done:
    if (buffers != NULL)
        for (Py_ssize_t i = 0; i < acquired; i++) PyBuffer_Release(&buffers[i]);
    PyMem_Free(buffers);
    PyMem_Free(frames);
    Py_XDECREF(list);
    Py_DECREF(seq);
    return result;
}

/* ---------------------------------------------------------------------------------------------- */
/* Rendering */

static int parse_image_params(int kind, long long dim, long long fill, int auto_dim, int append,
                              long long cols, hf_image_params *params)
{
    if (kind < HF_IMAGE_PACKET || kind > HF_IMAGE_MARKOV_FLOW) {
        PyErr_Format(PyExc_ValueError, "unknown image kind %d", kind);
        return -1;
    }
    params->kind = (hf_image_kind)kind;
    params->dim = dim;
    params->fill = fill;
    params->auto_dim = auto_dim;
    params->append = append;
    params->cols = cols;
    return 0;
}

static int numpy_type(hf_pixel_type type)
{
    switch (type) {
    case HF_PIXEL_FLOAT64: return NPY_FLOAT64;
    case HF_PIXEL_INT64: return NPY_INT64;
    case HF_PIXEL_UINT8: break;
    }
    return NPY_UINT8;
}

/* One image to render: its packets and its array (allocated with the GIL, filled without). */
typedef struct pending_image {
    const hf_packet_view *packets;
    size_t n_packets;
    hf_image_shape shape;
    PyArrayObject *array;   /* owned by the result list */
} pending_image;

/* The images of one flow's packets (views[0..n)) as a new list of arrays: one per packet for the
 * per-packet kinds, else one of the flow; images that fail verify(min_dim, max_dim) are left out.
 * The arrays are allocated with the GIL and filled without it. */
static PyObject *render_views(PyObject *module, const hf_image_params *params,
                              const hf_packet_view *views, size_t n, long long min_dim,
                              long long max_dim)
{
    int per_packet = params->kind == HF_IMAGE_PACKET || params->kind == HF_IMAGE_MARKOV_PACKET;
    size_t n_images = per_packet ? n : 1;
    PyObject *result = PyList_New(0);
    if (result == NULL) return NULL;
    pending_image one, *pending = n_images <= 1 ? &one : PyMem_Calloc(n_images, sizeof *pending);
    size_t n_pending = 0;
    hf_error error;
    hf_error_clear(&error);
    hf_status status = HF_OK;
    if (pending == NULL) { PyErr_NoMemory(); goto fail; }
    for (size_t k = 0; k < n_images; k++) {
        pending_image *p = &pending[n_pending];
        p->packets = per_packet ? &views[k] : views;
        p->n_packets = per_packet ? 1 : n;
        status = hf_render_shape(params, p->packets, p->n_packets, &p->shape, &error);
        if (status != HF_OK) goto core_fail;
        if (!hf_image_passes_verify(&p->shape, min_dim, max_dim)) continue;
        npy_intp dims[2] = {(npy_intp)p->shape.rows, (npy_intp)p->shape.cols};
        p->array = (PyArrayObject *)PyArray_SimpleNew(2, dims, numpy_type(p->shape.pixel_type));
        if (p->array == NULL) goto fail;
        if (PyList_Append(result, (PyObject *)p->array) < 0) { Py_DECREF(p->array); goto fail; }
        Py_DECREF(p->array);  /* the list holds it now */
        n_pending++;
    }
    if (n_pending > 0) {
        Py_BEGIN_ALLOW_THREADS
        for (size_t k = 0; k < n_pending && status == HF_OK; k++)
            status = hf_render_image(params, pending[k].packets, pending[k].n_packets,
                                     &pending[k].shape, PyArray_DATA(pending[k].array), &error);
        Py_END_ALLOW_THREADS
        if (status != HF_OK) goto core_fail;
    }
    if (pending != &one) PyMem_Free(pending);
    return result;
core_fail:
    raise_core_error(module, status, &error, NULL);
fail:
    if (pending != &one) PyMem_Free(pending);
    Py_DECREF(result);
    return NULL;
}

/* render(packets, kind, dim, fill, auto_dim, append, cols, min_dim, max_dim, min_packets,
 *        max_packets) -> list of arrays: 1.1.1's FIPExtractor.__create_matrix (§4.2). */
static PyObject *render(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"packets", "kind", "dim", "fill", "auto_dim", "append", "cols",
                               "min_dim", "max_dim", "min_packets", "max_packets", NULL};
    PyObject *packets_obj;
    int kind, auto_dim = 0, append = 0;
    long long dim = 8, fill = 0, cols = 4, min_dim = 0, max_dim = 0, min_packets = 0,
              max_packets = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!i|LLppLLLLL", keywords,
                                     state_of(module)->packet_list_type, &packets_obj, &kind,
                                     &dim, &fill, &auto_dim, &append, &cols, &min_dim, &max_dim,
                                     &min_packets, &max_packets))
        return NULL;
    hf_image_params params;
    if (parse_image_params(kind, dim, fill, auto_dim, append, cols, &params) < 0) return NULL;
    PacketList *source = (PacketList *)packets_obj;
    size_t n = source->list.count;
    int per_packet = kind == HF_IMAGE_PACKET || kind == HF_IMAGE_MARKOV_PACKET;
    if (!per_packet) {
        /* §4.2: no image for an empty flow or one shorter than min_packets_per_flow */
        if (n == 0 || (long long)n < min_packets) return PyList_New(0);
        if (max_packets > 0 && (long long)n > max_packets) n = (size_t)max_packets;
    }
    hf_packet_view *views = PyMem_Calloc(n ? n : 1, sizeof *views);
    if (views == NULL) return PyErr_NoMemory();
    for (size_t i = 0; i < n; i++) {
        views[i].data = hf_packet_list_data(&source->list, i);
        views[i].length = hf_packet_list_length(&source->list, i);
    }
    PyObject *result = render_views(module, &params, views, n, min_dim, max_dim);
    PyMem_Free(views);
    return result;
}

/* render_packets(list_of_bytes, kind, dim, fill, auto_dim, append, cols) -> one array, for the
 * image classes used directly (PacketImage(packet, ...).matrix). */
static PyObject *render_packets(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"packets", "kind", "dim", "fill", "auto_dim", "append", "cols", NULL};
    PyObject *packets_obj;
    int kind, auto_dim = 0, append = 0;
    long long dim = 8, fill = 0, cols = 4;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Oi|LLppL", keywords, &packets_obj, &kind,
                                     &dim, &fill, &auto_dim, &append, &cols))
        return NULL;
    hf_image_params params;
    if (parse_image_params(kind, dim, fill, auto_dim, append, cols, &params) < 0) return NULL;
    PyObject *seq = PySequence_Fast(packets_obj, "packets must be a sequence of bytes");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), acquired = 0;
    PyObject *result = NULL;
    PyArrayObject *array = NULL;
    Py_buffer *buffers = PyMem_Calloc(n ? (size_t)n : 1, sizeof(Py_buffer));
    hf_packet_view *views = PyMem_Calloc(n ? (size_t)n : 1, sizeof(hf_packet_view));
    if (buffers == NULL || views == NULL) { PyErr_NoMemory(); goto done; }
    for (; acquired < n; acquired++) {
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, acquired), &buffers[acquired],
                               PyBUF_SIMPLE) < 0)
            goto done;
        views[acquired].data = buffers[acquired].buf;
        views[acquired].length = (size_t)buffers[acquired].len;
    }
    hf_error error;
    hf_error_clear(&error);
    hf_image_shape shape;
    hf_status status = hf_render_shape(&params, views, (size_t)n, &shape, &error);
    if (status != HF_OK) { raise_core_error(module, status, &error, NULL); goto done; }
    npy_intp dims[2] = {(npy_intp)shape.rows, (npy_intp)shape.cols};
    array = (PyArrayObject *)PyArray_SimpleNew(2, dims, numpy_type(shape.pixel_type));
    if (array == NULL) goto done;
    Py_BEGIN_ALLOW_THREADS
    status = hf_render_image(&params, views, (size_t)n, &shape, PyArray_DATA(array), &error);
    Py_END_ALLOW_THREADS
    if (status != HF_OK) { raise_core_error(module, status, &error, NULL); goto done; }
    result = (PyObject *)array;
    array = NULL;
done:
    if (buffers != NULL)
        for (Py_ssize_t i = 0; i < acquired; i++) PyBuffer_Release(&buffers[i]);
    PyMem_Free(buffers);
    PyMem_Free(views);
    Py_XDECREF(array);
    Py_DECREF(seq);
    return result;
}


/* ---------------------------------------------------------------------------------------------- */
/* Whole create_image_from_file calls in C: extract_file (one file) and extract_files (a batch) */

/* Images up to this size are copied into arrays NumPy allocates (ordinary, OWNDATA arrays);
 * larger ones are handed over without a copy, owned by a capsule set as the array's base. */
#define COPY_IMAGE_MAX_BYTES ((size_t)1 << 20)

static void pixels_capsule_free(PyObject *capsule)
{
    hf_free(PyCapsule_GetPointer(capsule, "heifip._core.pixels"));
}

/* A NumPy array of `image`; takes image->pixels (set to NULL), copied or not.  A copied image's
 * pixels are freed at once, so that the next array of a batch reuses their memory: freed only
 * with the batch, the C images and the arrays were both live, ~2x the pages to fault in, and
 * glibc hands them back to the kernel when the caller drops the batch (Round 6 of
 * benchmarks/README.md). */
static PyObject *array_of_image(hf_image *image)
{
    npy_intp dims[2] = {(npy_intp)image->shape.rows, (npy_intp)image->shape.cols};
    int type = numpy_type(image->shape.pixel_type);
    size_t bytes = image->shape.rows * image->shape.cols * hf_render_pixel_size(image->shape.pixel_type);
    if (image->pixels == NULL || bytes <= COPY_IMAGE_MAX_BYTES) {
        PyObject *array = PyArray_SimpleNew(2, dims, type);
        if (array != NULL && bytes > 0)
            memcpy(PyArray_DATA((PyArrayObject *)array), image->pixels, bytes);
        hf_free(image->pixels);
        image->pixels = NULL;
        return array;
    }
    PyObject *array = PyArray_SimpleNewFromData(2, dims, type, image->pixels);
    if (array == NULL) return NULL;
    PyObject *capsule = PyCapsule_New(image->pixels, "heifip._core.pixels", pixels_capsule_free);
    if (capsule == NULL) { Py_DECREF(array); return NULL; }
    image->pixels = NULL;   /* the capsule's now */
    if (PyArray_SetBaseObject((PyArrayObject *)array, capsule) < 0) {  /* steals the capsule */
        Py_DECREF(array);
        return NULL;
    }
    return array;
}

/* None for an intact file, else its damage as (record_index, byte_offset, reason, packets
 * read). */
static PyObject *damage_object(const hf_error *damage, size_t packets)
{
    if (damage->status == HF_OK) return Py_NewRef(Py_None);
    return Py_BuildValue("(LLsn)", (long long)damage->record_index,
                         (long long)damage->byte_offset, damage->reason, (Py_ssize_t)packets);
}

/* (list of arrays, damage) of one file's images (damage_object); consumes the pixels it hands
 * over. */
static PyObject *file_images(hf_image_list *images, const hf_error *damage, size_t packets)
{
    PyObject *list = PyList_New((Py_ssize_t)images->count);
    if (list == NULL) return NULL;
    for (size_t i = 0; i < images->count; i++) {
        PyObject *array = array_of_image(&images->items[i]);
        if (array == NULL) { Py_DECREF(list); return NULL; }
        PyList_SET_ITEM(list, (Py_ssize_t)i, array);
    }
    PyObject *damage_obj = damage_object(damage, packets);
    if (damage_obj == NULL) { Py_DECREF(list); return NULL; }
    return Py_BuildValue("(NN)", list, damage_obj);   /* steals both */
}

/* Shared arguments of extract_file/extract_files after the path(s). */
typedef struct extract_args {
    int mode, anonymize, kind, auto_dim, append;
    unsigned long long seed, limit;
    long long dim, fill, cols, min_dim, max_dim, min_packets, max_packets;
} extract_args;

static int extract_setup(const extract_args *a, hf_job_config *config, hf_image_request *request)
{
    if (make_config(a->mode, a->anonymize, a->seed, a->limit, 0, config) < 0) return -1;
    if (parse_image_params(a->kind, a->dim, a->fill, a->auto_dim, a->append, a->cols,
                           &request->params) < 0)
        return -1;
    if (a->max_packets < 0) {
        PyErr_Format(PyExc_ValueError, "max_packets_per_flow must be >= 0, not %lld", a->max_packets);
        return -1;
    }
    request->min_dim = a->min_dim;
    request->max_dim = a->max_dim;
    request->min_packets = a->min_packets;
    request->max_packets = a->max_packets;
    return 0;
}

/* extract_file(path, mode, anonymize, seed, limit, kind, dim, fill, auto_dim, append, cols,
 *              min_dim, max_dim, min_packets, max_packets) -> (list of arrays, damage):
 * read_file + render in one call and one GIL release, keeping only the packets and bytes the
 * image can use (job.h: hf_job_extract_file). */
static PyObject *extract_file(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"path", "mode", "anonymize", "seed", "limit", "kind", "dim", "fill",
                               "auto_dim", "append", "cols", "min_dim", "max_dim", "min_packets",
                               "max_packets", NULL};
    PyObject *path = NULL;
    extract_args a = {0, 0, 0, 0, 0, 0, 0, 8, 0, 4, 0, 0, 0, 0};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&iiKKi|LLppLLLLL", keywords,
                                     PyUnicode_FSConverter, &path, &a.mode, &a.anonymize, &a.seed,
                                     &a.limit, &a.kind, &a.dim, &a.fill, &a.auto_dim, &a.append,
                                     &a.cols, &a.min_dim, &a.max_dim, &a.min_packets,
                                     &a.max_packets))
        return NULL;
    PyObject *result = NULL;
    hf_job_config config;
    hf_image_request request;
    if (extract_setup(&a, &config, &request) < 0) { Py_DECREF(path); return NULL; }
    hf_image_list images;
    hf_image_list_init(&images);
    hf_error error, damage;
    hf_error_clear(&error);
    hf_error_clear(&damage);
    const char *c_path = PyBytes_AS_STRING(path);
    hf_status status;
    size_t packets = 0;
    Py_BEGIN_ALLOW_THREADS
    status = hf_job_extract_file(c_path, &config, &request, &images, &packets, &damage, &error);
    Py_END_ALLOW_THREADS
    if (status != HF_OK) {
        PyObject *display = PyUnicode_DecodeFSDefault(c_path);
        if (display != NULL) {
            raise_core_error(module, status, &error, display);
            Py_DECREF(display);
        }
    } else {
        result = file_images(&images, &damage, packets);
    }
    hf_image_list_free(&images);
    Py_DECREF(path);
    return result;
}

/* The exception object for a failed file (what raise_core_error would raise). */
static PyObject *core_exception(PyObject *module, hf_status status, const hf_error *error,
                                const char *c_path)
{
    PyObject *display = PyUnicode_DecodeFSDefault(c_path);
    if (display == NULL) return NULL;
    raise_core_error(module, status, error, display);
    Py_DECREF(display);
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;   /* may be NULL if even that failed */
}

/* extract_files(paths, mode, ..., max_packets, threads=1) -> list, per file in order either
 * (list of arrays, damage) or the exception object extract_file would have raised.
 * All files run in one GIL release on `threads` C worker threads (job.h: hf_job_extract_files). */
static PyObject *extract_files(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"paths", "mode", "anonymize", "seed", "limit", "kind", "dim", "fill",
                               "auto_dim", "append", "cols", "min_dim", "max_dim", "min_packets",
                               "max_packets", "threads", NULL};
    PyObject *paths_obj;
    extract_args a = {0, 0, 0, 0, 0, 0, 0, 8, 0, 4, 0, 0, 0, 0};
    int threads = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OiiKKi|LLppLLLLLi", keywords, &paths_obj,
                                     &a.mode, &a.anonymize, &a.seed, &a.limit, &a.kind, &a.dim,
                                     &a.fill, &a.auto_dim, &a.append, &a.cols, &a.min_dim,
                                     &a.max_dim, &a.min_packets, &a.max_packets, &threads))
        return NULL;
    hf_job_config config;
    hf_image_request request;
    if (extract_setup(&a, &config, &request) < 0) return NULL;
    PyObject *seq = PySequence_Fast(paths_obj, "paths must be a sequence of paths");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), converted = 0;
    PyObject *result = NULL;
    PyObject **encoded = PyMem_Calloc(n ? (size_t)n : 1, sizeof *encoded);
    const char **c_paths = PyMem_Calloc(n ? (size_t)n : 1, sizeof *c_paths);
    hf_file_result *results = PyMem_Calloc(n ? (size_t)n : 1, sizeof *results);
    if (encoded == NULL || c_paths == NULL || results == NULL) { PyErr_NoMemory(); goto done; }
    for (; converted < n; converted++) {
        if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(seq, converted), &encoded[converted]))
            goto done;
        c_paths[converted] = PyBytes_AS_STRING(encoded[converted]);
    }
    Py_BEGIN_ALLOW_THREADS
    hf_job_extract_files(c_paths, (size_t)n, &config, &request, threads, results);
    Py_END_ALLOW_THREADS
    result = PyList_New(n);
    if (result == NULL) goto freeing;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = results[i].status == HF_OK
            ? file_images(&results[i].images, &results[i].damage, results[i].packets)
            : core_exception(module, results[i].status, &results[i].error, c_paths[i]);
        if (item == NULL) { Py_CLEAR(result); break; }
        PyList_SET_ITEM(result, i, item);
    }
freeing:
    hf_file_results_free(results, (size_t)n);
done:
    if (encoded != NULL)
        for (Py_ssize_t i = 0; i < converted; i++) Py_DECREF(encoded[i]);
    PyMem_Free(encoded);
    PyMem_Free(c_paths);
    PyMem_Free(results);
    Py_DECREF(seq);
    return result;
}

/* Cancel(): a flag another thread sets (set()) while write_file_images runs without the GIL;
 * the C job reads it between images (job.h: hf_write_request.cancel). */
typedef struct {
    PyObject_HEAD
    atomic_int flag;
} Cancel;

static PyObject *Cancel_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Cancel() takes no arguments");
        return NULL;
    }
    Cancel *self = (Cancel *)type->tp_alloc(type, 0);
    if (self != NULL) atomic_init(&self->flag, 0);
    return (PyObject *)self;
}

static void Cancel_dealloc(Cancel *self)
{
    PyTypeObject *type = Py_TYPE(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyObject *Cancel_set(Cancel *self, PyObject *unused)
{
    (void)unused;
    atomic_store(&self->flag, 1);
    Py_RETURN_NONE;
}

static PyObject *Cancel_is_set(Cancel *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(atomic_load(&self->flag));
}

static PyMethodDef Cancel_methods[] = {
    {"set", (PyCFunction)Cancel_set, METH_NOARGS, "set(): ask the running job to stop"},
    {"is_set", (PyCFunction)Cancel_is_set, METH_NOARGS, "is_set() -> bool"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Cancel_slots[] = {
    {Py_tp_new, Cancel_new},
    {Py_tp_dealloc, Cancel_dealloc},
    {Py_tp_methods, Cancel_methods},
    {Py_tp_doc, "Cancel(): a stop flag for write_file_images, set from any thread."},
    {0, NULL},
};

static PyType_Spec Cancel_spec = {
    .name = "heifip._core.Cancel",
    .basicsize = sizeof(Cancel),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Cancel_slots,
};

/* write_file_images(items, mode, ..., max_packets, numbered=False, level, filter, cancel=None)
 * -> list, per (path, prefix) item in order: (images, packets, damage) when all its images were
 * written, the exception saving or reading raised (an OSError names the output file), or None
 * when `cancel` stopped the call first.  One GIL release for all (job.h: hf_job_write_files). */
static PyObject *write_file_images(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"items", "mode", "anonymize", "seed", "limit", "kind", "dim", "fill",
                               "auto_dim", "append", "cols", "min_dim", "max_dim", "min_packets",
                               "max_packets", "numbered", "level", "filter", "cancel", NULL};
    PyObject *items_obj, *cancel_obj = Py_None;
    extract_args a = {0, 0, 0, 0, 0, 0, 0, 8, 0, 4, 0, 0, 0, 0};
    hf_write_request write = {0, NULL, NULL};
    hf_png_options png = {HF_PNG_DEFAULT_LEVEL, HF_PNG_DEFAULT_FILTER};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OiiKKi|LLppLLLLLpiiO", keywords, &items_obj,
                                     &a.mode, &a.anonymize, &a.seed, &a.limit, &a.kind, &a.dim,
                                     &a.fill, &a.auto_dim, &a.append, &a.cols, &a.min_dim,
                                     &a.max_dim, &a.min_packets, &a.max_packets, &write.numbered,
                                     &png.level, &png.filter, &cancel_obj))
        return NULL;
    module_state *st = state_of(module);
    if (cancel_obj != Py_None) {
        if (!PyObject_TypeCheck(cancel_obj, st->cancel_type)) {
            PyErr_SetString(PyExc_TypeError, "cancel must be a heifip._core.Cancel or None");
            return NULL;
        }
        write.cancel = &((Cancel *)cancel_obj)->flag;
    }
    hf_job_config config;
    hf_image_request request;
    if (extract_setup(&a, &config, &request) < 0) return NULL;
    PyObject *seq = PySequence_Fast(items_obj, "items must be a sequence of (path, prefix) pairs");
    if (seq == NULL) return NULL;
    hf_error error;   /* level and filter: ImageParameterError before any work */
    hf_error_clear(&error);
    if (hf_png_pool_take(st->png_pool, &png, &write.encoder, &error) != HF_OK) {
        raise_core_error(module, error.status, &error, NULL);
        Py_DECREF(seq);
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), converted = 0;
    PyObject *result = NULL;
    PyObject **encoded = PyMem_Calloc(n ? 2 * (size_t)n : 1, sizeof *encoded);
    hf_image_file *files = PyMem_Calloc(n ? (size_t)n : 1, sizeof *files);
    hf_written_file *results = PyMem_Calloc(n ? (size_t)n : 1, sizeof *results);
    if (encoded == NULL || files == NULL || results == NULL) { PyErr_NoMemory(); goto done; }
    for (; converted < n; converted++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, converted);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
            PyErr_Format(PyExc_TypeError, "item %zd: expected a (path, prefix) pair", converted);
            goto done;
        }
        if (!PyUnicode_FSConverter(PyTuple_GET_ITEM(item, 0), &encoded[2 * converted])) goto done;
        if (!PyUnicode_FSConverter(PyTuple_GET_ITEM(item, 1), &encoded[2 * converted + 1])) {
            Py_CLEAR(encoded[2 * converted]);
            goto done;
        }
        files[converted].path = PyBytes_AS_STRING(encoded[2 * converted]);
        files[converted].prefix = PyBytes_AS_STRING(encoded[2 * converted + 1]);
    }
    Py_BEGIN_ALLOW_THREADS
    hf_job_write_files(files, (size_t)n, &config, &request, &write, results);
    Py_END_ALLOW_THREADS
    result = PyList_New(n);
    if (result == NULL) goto freeing;
    for (Py_ssize_t i = 0; i < n; i++) {
        const hf_written_file *r = &results[i];
        PyObject *item;
        if (r->status == HF_OK) {
            PyObject *damage = damage_object(&r->damage, r->packets);
            item = damage ? Py_BuildValue("(nnN)", (Py_ssize_t)r->images, (Py_ssize_t)r->packets,
                                          damage) : NULL;
        } else if (r->status == HF_INTERRUPTED) {
            item = Py_NewRef(Py_None);
        } else {
            item = core_exception(module, r->status, &r->error,
                                  r->failed_output ? r->failed_output : files[i].path);
        }
        if (item == NULL) { Py_CLEAR(result); break; }
        PyList_SET_ITEM(result, i, item);
    }
freeing:
    hf_written_files_free(results, (size_t)n);
done:
    hf_png_pool_give(st->png_pool, write.encoder);
    if (encoded != NULL)
        for (Py_ssize_t i = 0; i < 2 * converted; i++) Py_DECREF(encoded[i]);
    PyMem_Free(encoded);
    PyMem_Free(files);
    PyMem_Free(results);
    Py_DECREF(seq);
    return result;
}

/* check_filter(expression) -> None; raises FilterError when libpcap cannot compile it. */
static PyObject *check_filter(PyObject *module, PyObject *arg)
{
    const char *expression = PyUnicode_AsUTF8(arg);
    if (expression == NULL) return NULL;
    hf_filter *filter = NULL;
    hf_error error;
    hf_error_clear(&error);
    hf_status status = hf_filter_new(expression, &filter, &error);
    hf_filter_free(filter);
    if (status == HF_ARGUMENT) {
        PyErr_SetString(state_of(module)->filter_error, error.reason);
        return NULL;
    }
    if (status != HF_OK) {
        raise_core_error(module, status, &error, NULL);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------------------------------------- */
/* PNG */

/* Idle encoders kept for one-image calls: one per thread that encodes at once is enough. */
#define PNG_POOL_IDLE 8

/* The pixels of an image to save, acquired with the GIL: a C-contiguous 2-D array of uint8,
 * float64 or float32 (floats are converted to uint8 by gray8_pixels without the GIL). */
typedef struct gray8_source {
    PyArrayObject *array;   /* owned */
    int type;               /* NPY_UINT8, NPY_FLOAT64 or NPY_FLOAT32 */
    size_t rows, cols;
    uint8_t *converted;     /* owned (hf_malloc): the uint8 pixels of a float image */
} gray8_source;

/* Acquire `obj` as uint8 (converting other dtypes as NumPy does) or, for float64/float32
 * ndarrays, as they are.  0, or -1 with an exception. */
static int gray8_acquire(PyObject *obj, gray8_source *source)
{
    memset(source, 0, sizeof *source);
    int type = NPY_UINT8;
    if (PyArray_Check(obj)) {
        PyArrayObject *array = (PyArrayObject *)obj;
        int t = PyArray_TYPE(array);
        if (t == NPY_UINT8 && PyArray_NDIM(array) == 2 && PyArray_IS_C_CONTIGUOUS(array) &&
            PyArray_ISALIGNED(array)) {
            /* What PyArray_FROMANY returns for it (this array), without its ~600 instructions
             * of conversion checks: a tenth of our own cost per 16x16 encode_png. */
            source->array = (PyArrayObject *)Py_NewRef(obj);
            source->type = NPY_UINT8;
            source->rows = (size_t)PyArray_DIM(array, 0);
            source->cols = (size_t)PyArray_DIM(array, 1);
            return 0;
        }
        if (t == NPY_FLOAT64 || t == NPY_FLOAT32) type = t;
    }
    source->array = (PyArrayObject *)PyArray_FROMANY(obj, type, 2, 2,
                                                     NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED);
    if (source->array == NULL) return -1;
    source->type = type;
    source->rows = (size_t)PyArray_DIM(source->array, 0);
    source->cols = (size_t)PyArray_DIM(source->array, 1);
    return 0;
}

static void gray8_release(gray8_source *source)
{
    Py_CLEAR(source->array);
    hf_free(source->converted);
    source->converted = NULL;
}

/* The uint8 pixels (GIL not needed): float p becomes trunc(255 * p) clipped to 0..255, NaN 0 --
 * exactly numpy's nan_to_num(clip(trunc(a * 255.0), 0, 255)).astype(uint8), in the array's own
 * precision (a float32 product stays float32, as in NumPy).  NULL only when out of memory. */
static const uint8_t *gray8_pixels(gray8_source *source)
{
    if (source->type == NPY_UINT8) return PyArray_DATA(source->array);
    if (source->converted != NULL) return source->converted;
    size_t n = source->rows * source->cols;   /* fits: NumPy allocated it */
    source->converted = hf_malloc(n ? n : 1);
    if (source->converted == NULL) return NULL;
    uint8_t *out = source->converted;
    if (source->type == NPY_FLOAT64) {
        hf_png_gray8_from_float64(PyArray_DATA(source->array), n, out);
    } else {
        const float *in = PyArray_DATA(source->array);
        for (size_t i = 0; i < n; i++) {
            float t = truncf(in[i] * 255.0f);
            out[i] = t >= 255.0f ? 255 : t > 0.0f ? (uint8_t)t : 0;
        }
    }
    return out;
}

/* Encode with an encoder from the module's pool (no GIL needed).  On HF_OK *encoder holds the
 * PNG in hf_png_encoder_buffer(*encoder); the caller gives it back (hf_png_pool_give), also
 * after a failure (*encoder may then be NULL). */
static hf_status encode_pooled(hf_png_pool *pool, gray8_source *source,
                               const hf_png_options *options, hf_png_encoder **encoder,
                               hf_error *error)
{
    *encoder = NULL;
    if (source->rows == 0 || source->cols == 0)
        return hf_error_set(error, HF_ARGUMENT, -1, -1,
                            "cannot save an empty image (%zu x %zu pixels)", source->cols,
                            source->rows);
    hf_status status = hf_png_pool_take(pool, options, encoder, error);
    if (status != HF_OK) return status;
    const uint8_t *pixels = gray8_pixels(source);
    if (pixels == NULL) return hf_error_set(error, HF_NOMEM, -1, -1, "png: out of memory");
    return hf_png_encoder_encode(*encoder, pixels, source->cols, source->rows, source->cols,
                                 hf_png_encoder_buffer(*encoder), error);
}

/* The arguments of a METH_FASTCALL | METH_KEYWORDS function of `count` parameters, each given by
 * position or by name as in a Python def, the first `required` of them required: out[i] is
 * borrowed, NULL when not given.  0, or -1 with CPython's TypeError.  For the per-image calls
 * (encode_png, write_png): PyArg_ParseTupleAndKeywords and the tuple METH_VARARGS builds were
 * ~700 of the ~3,000 instructions we add to libdeflate's per 16x16 encode_png. */
static int fast_arguments(const char *function, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames, const char *const *names, Py_ssize_t count,
                          Py_ssize_t required, PyObject **out)
{
    if (nargs > count) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %zd arguments (%zd given)", function,
                     count, nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) out[i] = i < nargs ? args[i] : NULL;
    Py_ssize_t given = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < given; k++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, k);
        Py_ssize_t i = 0;
        while (i < count && PyUnicode_CompareWithASCIIString(name, names[i]) != 0) i++;
        if (i == count) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'",
                         function, name);
            return -1;
        }
        if (out[i] != NULL) {
            PyErr_Format(PyExc_TypeError, "argument for %s() given by name ('%s') and position "
                         "(%zd)", function, names[i], i + 1);
            return -1;
        }
        out[i] = args[nargs + k];
    }
    for (Py_ssize_t i = 0; i < required; i++) {
        if (out[i] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s' (pos %zd)",
                         function, names[i], i + 1);
            return -1;
        }
    }
    return 0;
}

/* An optional int argument as PyArg's "i" converts it (__index__, C int range); *out keeps its
 * default when `value` is NULL.  0, or -1 with an exception. */
static int int_argument(PyObject *value, int *out)
{
    if (value == NULL) return 0;
    long v = PyLong_AsLong(value);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (v > INT_MAX || v < INT_MIN) {
        PyErr_SetString(PyExc_OverflowError, v > INT_MAX ? "signed integer is greater than maximum"
                                                         : "signed integer is less than minimum");
        return -1;
    }
    *out = (int)v;
    return 0;
}

static PyObject *encode_png(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    static const char *const names[] = {"image", "level", "filter"};
    PyObject *given[3];
    hf_png_options options = {HF_PNG_DEFAULT_LEVEL, HF_PNG_DEFAULT_FILTER};
    if (fast_arguments("encode_png", args, nargs, kwnames, names, 3, 1, given) < 0 ||
        int_argument(given[1], &options.level) < 0 || int_argument(given[2], &options.filter) < 0)
        return NULL;
    PyObject *image = given[0];
    gray8_source source;
    if (gray8_acquire(image, &source) < 0) return NULL;
    hf_png_pool *pool = state_of(module)->png_pool;
    hf_png_encoder *encoder = NULL;
    hf_error error;
    hf_error_clear(&error);
    hf_status status;
    Py_BEGIN_ALLOW_THREADS
    status = encode_pooled(pool, &source, &options, &encoder, &error);
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (status != HF_OK) {
        raise_core_error(module, status, &error, NULL);
    } else {
        const hf_buf *png = hf_png_encoder_buffer(encoder);
        result = PyBytes_FromStringAndSize((const char *)png->data, (Py_ssize_t)png->length);
    }
    hf_png_pool_give(pool, encoder);
    gray8_release(&source);
    return result;
}

/* write_png(path, image, level, filter): encode and write atomically (temp file + rename). */
static PyObject *write_png(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    static const char *const names[] = {"path", "image", "level", "filter"};
    PyObject *given[4], *path = NULL;
    hf_png_options options = {HF_PNG_DEFAULT_LEVEL, HF_PNG_DEFAULT_FILTER};
    if (fast_arguments("write_png", args, nargs, kwnames, names, 4, 2, given) < 0 ||
        !PyUnicode_FSConverter(given[0], &path))
        return NULL;
    PyObject *image = given[1];
    if (int_argument(given[2], &options.level) < 0 || int_argument(given[3], &options.filter) < 0) {
        Py_DECREF(path);
        return NULL;
    }
    PyObject *result = NULL;
    gray8_source source;
    if (gray8_acquire(image, &source) < 0) { Py_DECREF(path); return NULL; }
    hf_png_pool *pool = state_of(module)->png_pool;
    hf_png_encoder *encoder = NULL;
    hf_error error;
    hf_error_clear(&error);
    const char *c_path = PyBytes_AS_STRING(path);
    hf_status status;
    Py_BEGIN_ALLOW_THREADS
    status = encode_pooled(pool, &source, &options, &encoder, &error);
    if (status == HF_OK) {
        const hf_buf *png = hf_png_encoder_buffer(encoder);
        status = hf_png_write_file_atomic(c_path, png->data, png->length, &error);
    }
    hf_png_pool_give(pool, encoder);
    Py_END_ALLOW_THREADS
    if (status != HF_OK) {
        PyObject *display = PyUnicode_DecodeFSDefault(c_path);
        if (display != NULL) {
            raise_core_error(module, status, &error, display);
            Py_DECREF(display);
        }
    } else {
        result = Py_NewRef(Py_None);
    }
    gray8_release(&source);
    Py_DECREF(path);
    return result;
}

/* write_pngs(items, level, filter, threads=1) -> list: for each (path, image) in order, None
 * when written or the exception write_png would have raised.  Arrays and paths are taken with
 * the GIL, then everything (float conversion, encoding, atomic writes) runs in one GIL release
 * on `threads` C threads (png.h: hf_png_write_files).  An item that is not a (path, image) pair
 * raises TypeError for the whole call before anything is written. */
static PyObject *write_pngs(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"items", "level", "filter", "threads", NULL};
    PyObject *items_obj;
    hf_png_options options = {HF_PNG_DEFAULT_LEVEL, HF_PNG_DEFAULT_FILTER};
    int threads = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|iii", keywords, &items_obj, &options.level,
                                     &options.filter, &threads))
        return NULL;
    PyObject *seq = PySequence_Fast(items_obj, "items must be a sequence of (path, image) pairs");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), acquired = 0;
    PyObject *result = NULL;
    PyObject **paths = PyMem_Calloc(n ? (size_t)n : 1, sizeof *paths);
    gray8_source *sources = PyMem_Calloc(n ? (size_t)n : 1, sizeof *sources);
    hf_png_job *jobs = PyMem_Calloc(n ? (size_t)n : 1, sizeof *jobs);
    if (paths == NULL || sources == NULL || jobs == NULL) { PyErr_NoMemory(); goto done; }
    for (; acquired < n; acquired++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, acquired);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
            PyErr_Format(PyExc_TypeError, "item %zd: expected a (path, image) pair", acquired);
            goto done;
        }
        if (!PyUnicode_FSConverter(PyTuple_GET_ITEM(item, 0), &paths[acquired])) goto done;
        if (gray8_acquire(PyTuple_GET_ITEM(item, 1), &sources[acquired]) < 0) {
            Py_CLEAR(paths[acquired]);
            goto done;
        }
        jobs[acquired].path = PyBytes_AS_STRING(paths[acquired]);
        jobs[acquired].width = sources[acquired].cols;
        jobs[acquired].height = sources[acquired].rows;
        jobs[acquired].stride = sources[acquired].cols;
    }
    hf_png_pool *pool = state_of(module)->png_pool;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        hf_error_clear(&jobs[i].error);
        jobs[i].status = HF_OK;
        if (jobs[i].width == 0 || jobs[i].height == 0) {
            jobs[i].status = hf_error_set(&jobs[i].error, HF_ARGUMENT, -1, -1,
                                          "cannot save an empty image (%zu x %zu pixels)",
                                          jobs[i].width, jobs[i].height);
            continue;
        }
        jobs[i].pixels = gray8_pixels(&sources[i]);   /* NULL: skipped by the batch */
        if (jobs[i].pixels == NULL)
            jobs[i].status = hf_error_set(&jobs[i].error, HF_NOMEM, -1, -1, "png: out of memory");
    }
    hf_png_write_files(jobs, (size_t)n, &options, pool, threads);
    Py_END_ALLOW_THREADS
    result = PyList_New(n);
    if (result == NULL) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *status = jobs[i].status == HF_OK
            ? Py_NewRef(Py_None)
            : core_exception(module, jobs[i].status, &jobs[i].error, jobs[i].path);
        if (status == NULL) { Py_CLEAR(result); break; }
        PyList_SET_ITEM(result, i, status);
    }
done:
    for (Py_ssize_t i = 0; i < acquired; i++) {
        Py_XDECREF(paths[i]);
        gray8_release(&sources[i]);
    }
    PyMem_Free(paths);
    PyMem_Free(sources);
    PyMem_Free(jobs);
    Py_DECREF(seq);
    return result;
}

/* probe(path) -> "pcap" | "pcapng"; raises for missing files and non-captures. */
static PyObject *probe(PyObject *module, PyObject *arg)
{
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(arg, &path)) return NULL;
    hf_capture_format format = 0;
    hf_error error;
    hf_error_clear(&error);
    hf_status status;
    const char *c_path = PyBytes_AS_STRING(path);
    Py_BEGIN_ALLOW_THREADS
    status = hf_reader_probe_path(c_path, &format, &error);
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (status != HF_OK) {
        PyObject *display = PyUnicode_DecodeFSDefault(c_path);
        if (display != NULL) {
            raise_core_error(module, status, &error, display);
            Py_DECREF(display);
        }
    } else {
        result = PyUnicode_FromString(format == HF_CAPTURE_PCAPNG ? "pcapng" : "pcap");
    }
    Py_DECREF(path);
    return result;
}


/* ---------------------------------------------------------------------------------------------- */
/* FlowInfo: what is known of one completed flow, filled from an hf_flow with no Python code run
 * per flow (a capture can have millions).  heifip.sessions.FlowMeta subclasses it and adds the
 * derived properties (src, dst, key, name, ...).  The flow key's addresses are pseudonymised
 * (hf_anonymizer_pseudonym) only when first asked for. */

typedef struct {
    PyObject_HEAD
    PyObject *source;            /* owned: the capture, as the caller named it */
    PyObject *text;              /* owned, NULL (None) until set: FlowMeta's cache of the
                                    formatted addresses (strings only) */
    hf_flow_key key;             /* addresses original until `addresses_final` */
    int addresses_final;         /* key.address holds what _src/_dst return */
    hf_anonymizer anonymizer;    /* for the pseudonyms */
    hf_flow_end end_reason;
    int64_t first_timestamp_ns, last_timestamp_ns;
    unsigned long long packets, bytes, first_record, last_record, index;
    Py_ssize_t kept_packets;
} FlowInfo;

static void FlowInfo_dealloc(FlowInfo *self)
{
    PyTypeObject *type = Py_TYPE(self);
    Py_CLEAR(self->source);
    Py_CLEAR(self->text);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static size_t address_length(uint8_t family)
{
    return family == 4 ? 4 : family == 6 ? 16 : 0;
}

/* _src / _dst: the (pseudonymised) address bytes, b"" for non-IP flows. */
static PyObject *FlowInfo_address(FlowInfo *self, void *closure)
{
    size_t length = address_length(self->key.family);
    if (!self->addresses_final) {
        if (length) {
            hf_anonymizer_pseudonym(&self->anonymizer, self->key.address[0], length);
            hf_anonymizer_pseudonym(&self->anonymizer, self->key.address[1], length);
        }
        self->addresses_final = 1;
    }
    int side = closure != NULL;
    return PyBytes_FromStringAndSize((const char *)self->key.address[side], (Py_ssize_t)length);
}

static PyObject *FlowInfo_end(FlowInfo *self, void *closure)
{
    (void)closure;
    return PyUnicode_InternFromString(hf_flow_end_name(self->end_reason));
}

/* The 15 values FlowInfo(source, values) takes, in heifip.sessions.FlowMeta's field order. */
static PyObject *FlowInfo_values(FlowInfo *self)
{
    PyObject *src = FlowInfo_address(self, NULL), *dst = FlowInfo_address(self, (void *)1);
    PyObject *end = FlowInfo_end(self, NULL), *values = NULL;
    if (src && dst && end)
        values = Py_BuildValue("(iiOiOiLLKKnKKOK)", self->key.family, self->key.protocol, src,
                               self->key.port[0], dst, self->key.port[1],
                               (long long)self->first_timestamp_ns,
                               (long long)self->last_timestamp_ns, self->packets, self->bytes,
                               self->kept_packets, self->first_record, self->last_record, end,
                               self->index);
    Py_XDECREF(src);
    Py_XDECREF(dst);
    Py_XDECREF(end);
    return values;
}

/* A new instance of `type` (FlowInfo or a subclass) describing `flow`.  `anonymizer` gives the
 * key's pseudonyms on first use; NULL: the key's addresses are already final. */
static PyObject *flow_info_new(PyTypeObject *type, PyObject *source,
                               const hf_anonymizer *anonymizer, const hf_flow *flow)
{
    FlowInfo *self = (FlowInfo *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->source = Py_NewRef(source);
    self->key = flow->key;
    if (anonymizer != NULL) self->anonymizer = *anonymizer;
    self->addresses_final = anonymizer == NULL;
    self->end_reason = flow->end_reason;
    self->first_timestamp_ns = flow->first_timestamp_ns;
    self->last_timestamp_ns = flow->last_timestamp_ns;
    self->packets = flow->packet_count;
    self->bytes = flow->byte_count;
    self->kept_packets = (Py_ssize_t)flow->kept_count;
    self->first_record = flow->first_record_index;
    self->last_record = flow->last_record_index;
    self->index = flow->sequence;
    return (PyObject *)self;
}

/* FlowInfo(source, values): the inverse of __reduce__ (pickling, copies, tests).  `values` are
 * the 15 fields in FlowMeta's order with the addresses already final. */
static PyObject *FlowInfo_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"source", "values", NULL};
    PyObject *source, *values;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO!", keywords, &source, &PyTuple_Type,
                                     &values))
        return NULL;
    int family, protocol, sport, dport;
    Py_buffer src, dst;
    long long first_ts, last_ts;
    unsigned long long packets, bytes, first_record, last_record, index;
    Py_ssize_t kept;
    const char *end;
    if (!PyArg_ParseTuple(values, "iiy*iy*iLLKKnKKsK", &family, &protocol, &src, &sport, &dst,
                          &dport, &first_ts, &last_ts, &packets, &bytes, &kept, &first_record,
                          &last_record, &end, &index))
        return NULL;
    PyObject *self = NULL;
    size_t length = address_length((uint8_t)family);
    int end_reason = 0;
    for (int r = HF_FLOW_END_FIN; r <= HF_FLOW_END_INPUT; r++)
        if (strcmp(end, hf_flow_end_name((hf_flow_end)r)) == 0) end_reason = r;
    if ((family != 0 && family != 4 && family != 6) || protocol < 0 || protocol > 255 ||
        sport < 0 || sport > 65535 || dport < 0 || dport > 65535 || (size_t)src.len != length ||
        (size_t)dst.len != length || kept < 0 || end_reason == 0) {
        PyErr_SetString(PyExc_ValueError, "FlowInfo: invalid flow values");
        goto done;
    }
    hf_flow flow;
    memset(&flow, 0, sizeof flow);
    flow.key.family = (uint8_t)family;
    flow.key.protocol = (uint8_t)protocol;
    memcpy(flow.key.address[0], src.buf, length);
    memcpy(flow.key.address[1], dst.buf, length);
    flow.key.port[0] = (uint16_t)sport;
    flow.key.port[1] = (uint16_t)dport;
    flow.end_reason = (hf_flow_end)end_reason;
    flow.first_timestamp_ns = first_ts;
    flow.last_timestamp_ns = last_ts;
    flow.packet_count = packets;
    flow.byte_count = bytes;
    flow.kept_count = (size_t)kept;
    flow.first_record_index = first_record;
    flow.last_record_index = last_record;
    flow.sequence = index;
    self = flow_info_new(type, source, NULL, &flow);
done:
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    return self;
}

static PyObject *FlowInfo_reduce(FlowInfo *self, PyObject *unused)
{
    (void)unused;
    PyObject *values = FlowInfo_values(self);
    if (values == NULL) return NULL;
    return Py_BuildValue("(O(ON))", (PyObject *)Py_TYPE(self), self->source, values);
}

#define FLOW_INFO_MEMBER(name, type, field, doc) \
    {name, type, offsetof(FlowInfo, field), READONLY, doc}

static PyMemberDef FlowInfo_members[] = {
    FLOW_INFO_MEMBER("source", T_OBJECT, source, "the capture file"),
    FLOW_INFO_MEMBER("family", T_UBYTE, key.family, "4, 6, or 0 for non-IP / split='file'"),
    FLOW_INFO_MEMBER("protocol", T_UBYTE, key.protocol, "IP protocol number"),
    FLOW_INFO_MEMBER("sport", T_USHORT, key.port[0], "source (client) port"),
    FLOW_INFO_MEMBER("dport", T_USHORT, key.port[1], "destination (server) port"),
    FLOW_INFO_MEMBER("first_timestamp_ns", T_LONGLONG, first_timestamp_ns, NULL),
    FLOW_INFO_MEMBER("last_timestamp_ns", T_LONGLONG, last_timestamp_ns, NULL),
    FLOW_INFO_MEMBER("packets", T_ULONGLONG, packets, "packets seen in the flow, kept or not"),
    FLOW_INFO_MEMBER("bytes", T_ULONGLONG, bytes, "their wire bytes"),
    FLOW_INFO_MEMBER("kept_packets", T_PYSSIZET, kept_packets, "packets kept for the image"),
    FLOW_INFO_MEMBER("first_record", T_ULONGLONG, first_record, "record index in the capture"),
    FLOW_INFO_MEMBER("last_record", T_ULONGLONG, last_record, "record index in the capture"),
    FLOW_INFO_MEMBER("index", T_ULONGLONG, index, "position among the capture's flows"),
    {"_text", T_OBJECT, offsetof(FlowInfo, text), 0, "cache of the formatted addresses (None)"},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef FlowInfo_getset[] = {
    {"_src", (getter)FlowInfo_address, NULL, "source address bytes (pseudonymised)", NULL},
    {"_dst", (getter)FlowInfo_address, NULL, "destination address bytes (pseudonymised)",
     (void *)1},
    {"end", (getter)FlowInfo_end, NULL,
     "'fin', 'rst', 'new_syn', 'idle', 'active', 'evicted' or 'end_of_input'", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef FlowInfo_methods[] = {
    {"__reduce__", (PyCFunction)FlowInfo_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot FlowInfo_slots[] = {
    {Py_tp_new, FlowInfo_new},
    {Py_tp_dealloc, FlowInfo_dealloc},
    {Py_tp_members, FlowInfo_members},
    {Py_tp_getset, FlowInfo_getset},
    {Py_tp_methods, FlowInfo_methods},
    {Py_tp_doc, "FlowInfo(source, values): one completed flow (base of heifip.sessions.FlowMeta)."},
    {0, NULL},
};

static PyType_Spec FlowInfo_spec = {
    .name = "heifip._core.FlowInfo",
    .basicsize = sizeof(FlowInfo),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = FlowInfo_slots,
};

/* ---------------------------------------------------------------------------------------------- */
/* FlowReader: an iterator over the completed flows of one capture (flows.h, job.h): each item is
 * (PacketList, meta), or with an image kind (array, meta) for each image of each flow, rendered
 * here so that no per-flow Python runs between the flow table and the arrays. */

#define FIXED_SHAPE_BATCH 8
/* ... but at most this many bytes of arrays ahead (one image ahead when an image is larger). */
#define FIXED_SHAPE_BATCH_BYTES ((size_t)256 * 1024)

typedef struct {
    PyObject_HEAD
    hf_flow_job *job;        /* owned; NULL once exhausted or failed */
    hf_anonymizer anonymizer;
    PyObject *path;          /* owned: str, for messages */
    PyObject *source;        /* owned: each meta's `source` */
    PyTypeObject *meta_type; /* owned: FlowInfo or a subclass */
    int render;              /* 1: items carry the images of `image` */
    hf_image_params image;
    long long min_dim, max_dim;
    PyObject *damage;        /* owned: None or (record_index, byte_offset, reason) */
    int busy;                /* 1 while a __next__ runs without the GIL (the job is
                              * single-threaded): another thread's __next__ then raises, as a
                              * generator already executing does */
    /* Rendering with a fixed image shape (hf_render_fixed_shape): the arrays of the next
     * images are allocated ahead, so one release of the GIL finds up to `batch` flows with an
     * image and renders them (a GIL round trip per image cost ~2 % of the
     * session benchmark).  The items are then yielded one by one, and the job's end (EOF or an
     * error) only after them, so the user sees what an unbatched reader would show. */
    int fixed_shape;
    hf_image_shape shape;    /* the fixed shape, if fixed_shape */
    int batch;               /* images per batch: 1..FIXED_SHAPE_BATCH (FIXED_SHAPE_BATCH_BYTES) */
    PyArrayObject *arrays[FIXED_SHAPE_BATCH];  /* owned or NULL: where the next images go */
    hf_flow *rendered[FIXED_SHAPE_BATCH];      /* owned: the flow whose image is arrays[i] */
    int rendered_next, rendered_count;         /* [next, count) wait to be yielded */
    hf_status batch_end;     /* HF_OK, or how the job call after the last rendered flow ended */
    hf_error batch_error;    /* ... and its error */
    /* A flow with several images (the per-packet kinds) yields them one by one. */
    PyObject *pending;       /* owned or NULL: the current flow's list of images */
    Py_ssize_t pending_next; /* index in `pending` of the next image to yield */
    PyObject *pending_meta;  /* owned or NULL: their meta */
} FlowReader;

static void FlowReader_dealloc(FlowReader *self)
{
    PyTypeObject *type = Py_TYPE(self);
    hf_flow_job_free(self->job);
    Py_CLEAR(self->path);
    Py_CLEAR(self->source);
    Py_CLEAR(self->meta_type);
    Py_CLEAR(self->damage);
    for (int i = 0; i < FIXED_SHAPE_BATCH; i++) Py_CLEAR(self->arrays[i]);
    for (int i = self->rendered_next; i < self->rendered_count; i++)
        hf_flow_free(self->rendered[i]);
    Py_CLEAR(self->pending);
    Py_CLEAR(self->pending_meta);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyObject *FlowReader_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"path", "mode", "anonymize", "seed", "split", "idle_timeout_ns",
                               "active_timeout_ns", "max_packets", "min_packets",
                               "bytes_per_packet", "max_memory_bytes", "keep_non_ip", "bpf",
                               "limit", "source", "meta_type", "kind", "dim", "fill", "auto_dim",
                               "append", "cols", "min_dim", "max_dim", NULL};
    PyObject *path = NULL, *source = NULL;
    PyTypeObject *meta_type = NULL;
    int mode = 0, anonymize = 0, split = HF_SPLIT_SESSION, keep_non_ip = 0;
    int kind = 0, auto_dim = 0, append = 0;
    unsigned long long seed = 0, limit = 0;
    long long idle = HF_FLOW_DEFAULT_IDLE_TIMEOUT_NS, active = HF_FLOW_DEFAULT_ACTIVE_TIMEOUT_NS;
    long long dim = 8, fill = 0, cols = 4, min_dim = 0, max_dim = 0;
    Py_ssize_t max_packets = 0, min_packets = 0, bytes_per_packet = -1,
               max_memory = (Py_ssize_t)HF_FLOW_DEFAULT_MAX_MEMORY_BYTES;
    const char *bpf = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&|iiKiLLnnnnpzKOO!iLLppLLL", keywords,
                                     PyUnicode_FSConverter, &path, &mode, &anonymize, &seed,
                                     &split, &idle, &active, &max_packets, &min_packets,
                                     &bytes_per_packet, &max_memory, &keep_non_ip, &bpf, &limit,
                                     &source, &PyType_Type, &meta_type, &kind, &dim, &fill,
                                     &auto_dim, &append, &cols, &min_dim, &max_dim))
        return NULL;
    FlowReader *self = NULL;
    PyObject *module = PyType_GetModule(type);
    if (module == NULL) goto fail;
    PyTypeObject *info_type = state_of(module)->flow_info_type;
    if (meta_type == NULL) meta_type = info_type;
    if (!PyType_IsSubtype(meta_type, info_type)) {
        PyErr_SetString(PyExc_TypeError, "meta_type must be a subclass of heifip._core.FlowInfo");
        goto fail;
    }
    hf_image_params image;
    memset(&image, 0, sizeof image);
    if (kind != 0 && parse_image_params(kind, dim, fill, auto_dim, append, cols, &image) < 0)
        goto fail;
    hf_flow_job_config config;
    if (make_config(mode, anonymize, seed, limit, 0, &config.packets) < 0) goto fail;
    if (split < HF_SPLIT_SESSION || split > HF_SPLIT_FILE || idle < 0 || active < 0 ||
        max_packets < 0 || min_packets < 0 || max_memory < 0) {
        PyErr_SetString(PyExc_ValueError, "invalid flow configuration (negative value or unknown split)");
        goto fail;
    }
    config.packets.scapy_compat = 0;  /* sessions: read by the pcap/pcapng specifications */
    hf_flow_config_init(&config.flows);
    config.flows.split_mode = (hf_split_mode)split;
    config.flows.idle_timeout_ns = idle;
    config.flows.active_timeout_ns = active;
    config.flows.max_packets = (size_t)max_packets;
    config.flows.min_packets = (size_t)min_packets;
    config.flows.bytes_per_packet = bytes_per_packet < 0 ? SIZE_MAX : (size_t)bytes_per_packet;
    config.flows.max_memory_bytes = (size_t)max_memory;
    config.flows.keep_non_ip = keep_non_ip;
    if (kind != 0) hf_flow_config_keep_for_image(&config.flows, &image);
    config.bpf = bpf;
    self = (FlowReader *)type->tp_alloc(type, 0);
    if (self == NULL) goto fail;
    self->anonymizer = config.packets.anonymizer;
    self->meta_type = (PyTypeObject *)Py_NewRef((PyObject *)meta_type);
    self->render = kind != 0;
    self->image = image;
    self->fixed_shape = self->render && hf_render_fixed_shape(&image, &self->shape);
    if (self->fixed_shape) {
        /* No overflow: the shape is within HF_RENDER_MAX_IMAGE_BYTES (hf_render_shape). */
        size_t bytes = self->shape.rows * self->shape.cols *
                       hf_render_pixel_size(self->shape.pixel_type);
        size_t fit = bytes ? FIXED_SHAPE_BATCH_BYTES / bytes : FIXED_SHAPE_BATCH;
        self->batch = fit < 1 ? 1 : fit > FIXED_SHAPE_BATCH ? FIXED_SHAPE_BATCH : (int)fit;
    }
    self->min_dim = min_dim;
    self->max_dim = max_dim;
    self->damage = Py_NewRef(Py_None);
    const char *c_path = PyBytes_AS_STRING(path);
    self->path = PyUnicode_DecodeFSDefault(c_path);
    if (self->path == NULL) goto fail;
    self->source = Py_NewRef(source != NULL ? source : self->path);
    hf_error error;
    hf_error_clear(&error);
    hf_status status;
    Py_BEGIN_ALLOW_THREADS
    status = hf_flow_job_open(c_path, &config, &self->job, &error);
    Py_END_ALLOW_THREADS
    if (status != HF_OK) {
        if (status == HF_ARGUMENT) /* the only argument error left here: the BPF filter */
            PyErr_SetString(state_of(module)->filter_error, error.reason);
        else
            raise_core_error(module, status, &error, self->path);
        goto fail;
    }
    Py_DECREF(path);
    return (PyObject *)self;
fail:
    Py_XDECREF(self);
    Py_XDECREF(path);
    return NULL;
}

/* (first, meta) as a new tuple, taking both references (NULL with an exception if either is). */
static PyObject *item_steal(PyObject *first, PyObject *meta)
{
    if (first == NULL || meta == NULL) {
        Py_XDECREF(first);
        Py_XDECREF(meta);
        return NULL;
    }
    PyObject *item = PyTuple_New(2);
    if (item == NULL) {
        Py_DECREF(first);
        Py_DECREF(meta);
        return NULL;
    }
    PyTuple_SET_ITEM(item, 0, first);
    PyTuple_SET_ITEM(item, 1, meta);
    return item;
}

/* The item of a completed flow: (PacketList, meta), or with an image kind (image, meta) for its
 * first image, the others left in self->pending.  NULL without an exception when the flow has no
 * image. */
static PyObject *flow_item(PyObject *module, FlowReader *self, const hf_flow *flow)
{
    if (!self->render) {
        PacketList *list = packet_list_new(module);
        if (list == NULL) return NULL;
        for (size_t i = 0; i < flow->kept_count; i++) {
            if (hf_packet_list_append(&list->list, flow->packets[i].data, flow->packets[i].length,
                                      0, 0) != HF_OK) {
                Py_DECREF(list);
                return PyErr_NoMemory();
            }
        }
        return item_steal((PyObject *)list,
                          flow_info_new(self->meta_type, self->source, &self->anonymizer, flow));
    }
    int per_packet = self->image.kind == HF_IMAGE_PACKET ||
                     self->image.kind == HF_IMAGE_MARKOV_PACKET;
    if (flow->kept_count == 0 && !per_packet) return NULL;  /* §4.2: no empty flow image */
    PyObject *images = render_views(module, &self->image, flow->packets, flow->kept_count,
                                    self->min_dim, self->max_dim);
    if (images == NULL) return NULL;
    if (PyList_GET_SIZE(images) == 0) {
        Py_DECREF(images);
        return NULL;
    }
    PyObject *meta = flow_info_new(self->meta_type, self->source, &self->anonymizer, flow);
    if (meta == NULL) {
        Py_DECREF(images);
        return NULL;
    }
    PyObject *first = Py_NewRef(PyList_GET_ITEM(images, 0));
    if (PyList_GET_SIZE(images) > 1) {
        self->pending = images;
        self->pending_next = 1;
        self->pending_meta = Py_NewRef(meta);
    } else {
        Py_DECREF(images);
    }
    return item_steal(first, meta);
}

/* Without the GIL: the next flow that has an image of the fixed shape, rendered into `pixels`.
 * Flows without an image (none kept, or the shape fails verify) are freed on the way. */
static hf_status next_fixed_shape_flow(FlowReader *self, void *pixels, hf_flow **out,
                                       hf_error *error)
{
    int passes = hf_image_passes_verify(&self->shape, self->min_dim, self->max_dim);
    for (;;) {
        hf_flow *flow = NULL;
        hf_status status = hf_flow_job_next(self->job, &flow, error);
        if (status != HF_OK) return status;
        if (passes && flow->kept_count > 0) {  /* §4.2: no empty flow image */
            status = hf_render_image(&self->image, flow->packets, flow->kept_count, &self->shape,
                                     pixels, error);
            if (status != HF_OK) {
                hf_flow_free(flow);
                return status;
            }
            *out = flow;
            return HF_OK;
        }
        hf_flow_free(flow);
    }
}

/* The job ended with `status` (HF_EOF or an error): record its damage, free it, and raise
 * (NULL without an exception at EOF: StopIteration). */
static PyObject *end_of_job(PyObject *module, FlowReader *self, hf_status status,
                            const hf_error *error)
{
    const hf_error *damage = hf_flow_job_damage(self->job);
    if (damage->status != HF_OK) {
        PyObject *t = Py_BuildValue("(LLs)", (long long)damage->record_index,
                                    (long long)damage->byte_offset, damage->reason);
        if (t == NULL) return NULL;
        Py_SETREF(self->damage, t);
    }
    int filter_failed = hf_flow_job_filter_failed(self->job);
    hf_flow_job_free(self->job);
    self->job = NULL;
    for (int i = 0; i < FIXED_SHAPE_BATCH; i++) Py_CLEAR(self->arrays[i]);
    if (status == HF_EOF) return NULL;
    if (filter_failed)
        PyErr_Format(state_of(module)->filter_error, "%S: record %lld: %s", self->path,
                     (long long)error->record_index, error->reason);
    else
        raise_core_error(module, status, error, self->path);
    return NULL;
}

/* The fixed-shape path: the next rendered (array, meta), rendering a batch when none waits. */
static PyObject *next_fixed_shape_item(PyObject *module, FlowReader *self)
{
    if (self->rendered_next == self->rendered_count) {
        if (self->batch_end != HF_OK) return end_of_job(module, self, self->batch_end,
                                                        &self->batch_error);
        void *pixels[FIXED_SHAPE_BATCH];
        npy_intp dims[2] = {(npy_intp)self->shape.rows, (npy_intp)self->shape.cols};
        for (int i = 0; i < self->batch; i++) {
            if (self->arrays[i] == NULL) {
                self->arrays[i] = (PyArrayObject *)PyArray_SimpleNew(
                    2, dims, numpy_type(self->shape.pixel_type));
                if (self->arrays[i] == NULL) return NULL;
            }
            pixels[i] = PyArray_DATA(self->arrays[i]);
        }
        hf_error_clear(&self->batch_error);
        hf_status status = HF_OK;
        int count = 0;
        self->busy = 1;   /* set and cleared with the GIL held */
        Py_BEGIN_ALLOW_THREADS
        while (count < self->batch &&
               (status = next_fixed_shape_flow(self, pixels[count], &self->rendered[count],
                                               &self->batch_error)) == HF_OK)
            count++;
        Py_END_ALLOW_THREADS
        self->busy = 0;
        self->batch_end = status;
        self->rendered_next = 0;
        self->rendered_count = count;
        if (count == 0) return end_of_job(module, self, status, &self->batch_error);
    }
    int i = self->rendered_next++;
    hf_flow *flow = self->rendered[i];
    PyObject *image = (PyObject *)self->arrays[i];
    self->arrays[i] = NULL;
    PyObject *item = item_steal(image, flow_info_new(self->meta_type, self->source,
                                                     &self->anonymizer, flow));
    hf_flow_free(flow);
    return item;
}

static PyObject *FlowReader_next(FlowReader *self)
{
    if (self->pending != NULL) {
        PyObject *image = Py_NewRef(PyList_GET_ITEM(self->pending, self->pending_next));
        PyObject *meta = Py_NewRef(self->pending_meta);
        if (++self->pending_next == PyList_GET_SIZE(self->pending)) {
            Py_CLEAR(self->pending);
            Py_CLEAR(self->pending_meta);
        }
        return item_steal(image, meta);
    }
    if (self->busy) {
        PyErr_SetString(PyExc_ValueError, "FlowReader already executing in another thread");
        return NULL;
    }
    PyObject *module = PyType_GetModule(Py_TYPE(self));
    if (module == NULL) return NULL;
    if (self->job == NULL) return NULL;  /* StopIteration */
    if (self->fixed_shape) return next_fixed_shape_item(module, self);
    for (;;) {
        hf_flow *flow = NULL;
        hf_error error;
        hf_error_clear(&error);
        hf_status status;
        self->busy = 1;   /* set and cleared with the GIL held */
        Py_BEGIN_ALLOW_THREADS
        status = hf_flow_job_next(self->job, &flow, &error);
        Py_END_ALLOW_THREADS
        self->busy = 0;
        if (status != HF_OK) return end_of_job(module, self, status, &error);
        PyObject *result = flow_item(module, self, flow);
        hf_flow_free(flow);
        if (result != NULL || PyErr_Occurred()) return result;
        /* a flow without images: the next */
    }
}

static PyObject *FlowReader_get_damage(FlowReader *self, void *closure)
{
    (void)closure;
    return Py_NewRef(self->damage);
}

static PyGetSetDef FlowReader_getset[] = {
    {"damage", (getter)FlowReader_get_damage, NULL,
     "None, or (record_index, byte_offset, reason) once the read met damage", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot FlowReader_slots[] = {
    {Py_tp_new, FlowReader_new},
    {Py_tp_dealloc, FlowReader_dealloc},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, FlowReader_next},
    {Py_tp_getset, FlowReader_getset},
    {Py_tp_doc, "FlowReader(path, ...): iterate (PacketList, meta) over the completed flows -- "
                "or with kind= (array, meta) for each of their images."},
    {0, NULL},
};

static PyType_Spec FlowReader_spec = {
    .name = "heifip._core.FlowReader",
    .basicsize = sizeof(FlowReader),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = FlowReader_slots,
};

/* ---------------------------------------------------------------------------------------------- */
/* Module */

static PyMethodDef module_methods[] = {
    {"read_file", (PyCFunction)(void (*)(void))read_file, METH_VARARGS | METH_KEYWORDS,
     "read_file(path, mode=0, anonymize=0, seed=0, limit=0, collect_keys=False) -> PacketList"},
    {"read_memory", (PyCFunction)(void (*)(void))read_memory, METH_VARARGS | METH_KEYWORDS,
     "read_memory(data, mode=0, anonymize=0, seed=0, limit=0, collect_keys=False) -> PacketList"},
    {"process_frames", (PyCFunction)(void (*)(void))process_frames, METH_VARARGS | METH_KEYWORDS,
     "process_frames(frames, mode=0, anonymize=0, seed=0, collect_keys=False) -> PacketList"},
    {"render", (PyCFunction)(void (*)(void))render, METH_VARARGS | METH_KEYWORDS,
     "render(packets, kind, dim, fill, auto_dim, append, cols, min_dim, max_dim, min_packets, "
     "max_packets) -> list of arrays"},
    {"render_packets", (PyCFunction)(void (*)(void))render_packets, METH_VARARGS | METH_KEYWORDS,
     "render_packets(packets, kind, dim, fill, auto_dim, append, cols) -> array"},
    {"extract_file", (PyCFunction)(void (*)(void))extract_file, METH_VARARGS | METH_KEYWORDS,
     "extract_file(path, mode, anonymize, seed, limit, kind, dim, fill, auto_dim, append, cols, "
     "min_dim, max_dim, min_packets, max_packets) -> (list of arrays, damage)"},
    {"extract_files", (PyCFunction)(void (*)(void))extract_files, METH_VARARGS | METH_KEYWORDS,
     "extract_files(paths, mode, anonymize, seed, limit, kind, dim, fill, auto_dim, append, cols, "
     "min_dim, max_dim, min_packets, max_packets, threads=1) -> list of (arrays, damage) or "
     "exception objects"},
    {"write_file_images", (PyCFunction)(void (*)(void))write_file_images,
     METH_VARARGS | METH_KEYWORDS,
     "write_file_images(items, mode, anonymize, seed, limit, kind, dim, fill, auto_dim, append, "
     "cols, min_dim, max_dim, min_packets, max_packets, numbered=False, level, filter, "
     "cancel=None) -> list of (images, packets, damage), exception objects or None (cancelled)"},
    {"encode_png", (PyCFunction)(void (*)(void))encode_png, METH_FASTCALL | METH_KEYWORDS,
     "encode_png(image, level, filter) -> bytes"},
    {"write_png", (PyCFunction)(void (*)(void))write_png, METH_FASTCALL | METH_KEYWORDS,
     "write_png(path, image, level, filter) -> None (atomic)"},
    {"write_pngs", (PyCFunction)(void (*)(void))write_pngs, METH_VARARGS | METH_KEYWORDS,
     "write_pngs(items, level, filter, threads=1) -> list of None or exception objects"},
    {"probe", (PyCFunction)probe, METH_O, "probe(path) -> 'pcap' | 'pcapng'"},
    {"check_filter", (PyCFunction)check_filter, METH_O,
     "check_filter(expression) -> None; raises FilterError for a BPF expression libpcap rejects"},
    {NULL, NULL, 0, NULL},
};

static int add_int(PyObject *module, const char *name, long value)
{
    return PyModule_AddIntConstant(module, name, value);
}

static int module_exec(PyObject *module)
{
    module_state *st = state_of(module);
    PyObject *errors = PyImport_ImportModule("heifip.errors");
    if (errors == NULL) return -1;
    st->capture_format_error = PyObject_GetAttrString(errors, "CaptureFormatError");
    st->image_parameter_error = PyObject_GetAttrString(errors, "ImageParameterError");
    st->heifip_error = PyObject_GetAttrString(errors, "HeifipError");
    st->filter_error = PyObject_GetAttrString(errors, "FilterError");
    Py_DECREF(errors);
    if (!st->capture_format_error || !st->image_parameter_error || !st->heifip_error ||
        !st->filter_error)
        return -1;
    st->packet_list_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &PacketList_spec, NULL);
    if (st->packet_list_type == NULL) return -1;
    if (PyModule_AddObjectRef(module, "PacketList", (PyObject *)st->packet_list_type) < 0)
        return -1;
    hf_error pool_error;
    if (hf_png_pool_new(PNG_POOL_IDLE, &st->png_pool, &pool_error) != HF_OK) {
        PyErr_NoMemory();
        return -1;
    }
    st->flow_info_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &FlowInfo_spec, NULL);
    if (st->flow_info_type == NULL) return -1;
    if (PyModule_AddObjectRef(module, "FlowInfo", (PyObject *)st->flow_info_type) < 0) return -1;
    PyObject *flow_reader = PyType_FromModuleAndSpec(module, &FlowReader_spec, NULL);
    if (flow_reader == NULL) return -1;
    int added = PyModule_AddObjectRef(module, "FlowReader", flow_reader);
    Py_DECREF(flow_reader);
    if (added < 0) return -1;
    st->cancel_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &Cancel_spec, NULL);
    if (st->cancel_type == NULL) return -1;
    if (PyModule_AddObjectRef(module, "Cancel", (PyObject *)st->cancel_type) < 0) return -1;
    if (add_int(module, "PREPROCESS_NONE", HF_PREPROCESS_NONE) < 0 ||
        add_int(module, "PREPROCESS_HEADER", HF_PREPROCESS_HEADER) < 0 ||
        add_int(module, "ANONYMIZE_RANDOM", HF_ANONYMIZE_RANDOM) < 0 ||
        add_int(module, "ANONYMIZE_CONSISTENT", HF_ANONYMIZE_CONSISTENT) < 0 ||
        add_int(module, "ANONYMIZE_ZERO", HF_ANONYMIZE_ZERO) < 0 ||
        add_int(module, "ANONYMIZE_KEEP", HF_ANONYMIZE_KEEP) < 0 ||
        add_int(module, "IMAGE_PACKET", HF_IMAGE_PACKET) < 0 ||
        add_int(module, "IMAGE_FLOW", HF_IMAGE_FLOW) < 0 ||
        add_int(module, "IMAGE_FLOW_TILED_FIXED", HF_IMAGE_FLOW_TILED_FIXED) < 0 ||
        add_int(module, "IMAGE_FLOW_TILED_AUTO", HF_IMAGE_FLOW_TILED_AUTO) < 0 ||
        add_int(module, "IMAGE_MARKOV_PACKET", HF_IMAGE_MARKOV_PACKET) < 0 ||
        add_int(module, "IMAGE_MARKOV_FLOW", HF_IMAGE_MARKOV_FLOW) < 0 ||
        add_int(module, "PNG_DEFAULT_LEVEL", HF_PNG_DEFAULT_LEVEL) < 0 ||
        add_int(module, "PNG_DEFAULT_FILTER", HF_PNG_DEFAULT_FILTER) < 0 ||
        add_int(module, "SPLIT_SESSION", HF_SPLIT_SESSION) < 0 ||
        add_int(module, "SPLIT_FLOW", HF_SPLIT_FLOW) < 0 ||
        add_int(module, "SPLIT_FILE", HF_SPLIT_FILE) < 0 ||
        PyModule_AddIntConstant(module, "DEFAULT_IDLE_TIMEOUT_NS", HF_FLOW_DEFAULT_IDLE_TIMEOUT_NS) < 0 ||
        PyModule_AddIntConstant(module, "DEFAULT_ACTIVE_TIMEOUT_NS", HF_FLOW_DEFAULT_ACTIVE_TIMEOUT_NS) < 0 ||
        PyModule_AddIntConstant(module, "DEFAULT_MAX_MEMORY_BYTES", (long)HF_FLOW_DEFAULT_MAX_MEMORY_BYTES) < 0)
        return -1;
    return 0;
}

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    module_state *st = state_of(module);
    Py_VISIT(st->capture_format_error);
    Py_VISIT(st->image_parameter_error);
    Py_VISIT(st->heifip_error);
    Py_VISIT(st->filter_error);
    Py_VISIT(st->packet_list_type);
    Py_VISIT(st->flow_info_type);
    Py_VISIT(st->cancel_type);
    return 0;
}

static int module_clear(PyObject *module)
{
    module_state *st = state_of(module);
    Py_CLEAR(st->capture_format_error);
    Py_CLEAR(st->image_parameter_error);
    Py_CLEAR(st->heifip_error);
    Py_CLEAR(st->filter_error);
    Py_CLEAR(st->packet_list_type);
    Py_CLEAR(st->flow_info_type);
    Py_CLEAR(st->cancel_type);
    return 0;
}

static void module_free(void *module)
{
    module_clear((PyObject *)module);
    module_state *st = state_of((PyObject *)module);
    if (st != NULL) {
        hf_png_pool_free(st->png_pool);
        st->png_pool = NULL;
    }
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "heifip._core",
    .m_doc = "heifip's C core: read, dissect, preprocess, render and PNG-encode network captures.",
    .m_size = sizeof(module_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC PyInit__core(void)
{
    import_array();
    return PyModuleDef_Init(&module_def);
}
