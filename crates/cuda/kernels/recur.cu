// recur CUDA kernels. Every kernel is a template instantiated for float and double with the
// names `<op>_f32` / `<op>_f64`; each has a CPU twin of the same op name in recur-cpu.
// Compiled at first use with NVRTC (see src/device.rs) or checked by `cargo xtask kernels`.

#define GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

template <typename T> __device__ __forceinline__ T sigmoid_(T x) { return T(1) / (T(1) + exp(-x)); }

// ------------------------------------------------------------------ elementwise
// One line per op of recur-tensor's `unary_ops!` / `binary_ops!` (same name, same formula;
// a test checks that every op has its line): the kernels `<name>_f32`, `<name>_f64`,
// `<name>_backward_f32`, `<name>_backward_f64` (x: input, y: output, g: output gradient).
#define UNARY(NAME, FORWARD, BACKWARD) \
template <typename T> __device__ __forceinline__ T NAME##_fwd_(T x) { return FORWARD; } \
template <typename T> __device__ __forceinline__ T NAME##_bwd_(T y, T g) { return BACKWARD; } \
extern "C" __global__ void NAME##_f32(const float* x, float* y, long long n) { GRID_STRIDE(i, n) { y[i] = NAME##_fwd_<float>(x[i]); } } \
extern "C" __global__ void NAME##_f64(const double* x, double* y, long long n) { GRID_STRIDE(i, n) { y[i] = NAME##_fwd_<double>(x[i]); } } \
extern "C" __global__ void NAME##_backward_f32(const float* y, const float* g, float* o, long long n) { GRID_STRIDE(i, n) { o[i] = NAME##_bwd_<float>(y[i], g[i]); } } \
extern "C" __global__ void NAME##_backward_f64(const double* y, const double* g, double* o, long long n) { GRID_STRIDE(i, n) { o[i] = NAME##_bwd_<double>(y[i], g[i]); } }
#define BINARY(NAME, FORMULA) \
template <typename T> __device__ __forceinline__ T NAME##_op_(T a, T b) { return FORMULA; } \
extern "C" __global__ void NAME##_f32(const float* a, const float* b, float* o, long long n) { GRID_STRIDE(i, n) { o[i] = NAME##_op_<float>(a[i], b[i]); } } \
extern "C" __global__ void NAME##_f64(const double* a, const double* b, double* o, long long n) { GRID_STRIDE(i, n) { o[i] = NAME##_op_<double>(a[i], b[i]); } }

UNARY(sigmoid, T(1) / (T(1) + exp(-x)), g * y * (T(1) - y))
UNARY(tanh, tanh(x), g * (T(1) - y * y))
UNARY(relu, x > T(0) ? x : T(0), y > T(0) ? g : T(0))
UNARY(softsign, x / (T(1) + fabs(x)), g * (T(1) - fabs(y)) * (T(1) - fabs(y)))
UNARY(exp, exp(x), g * y)
UNARY(log, log(x), g * exp(-y))
BINARY(add, a + b)
BINARY(sub, a - b)
BINARY(mul, a * b)
BINARY(div, a / b)

template <typename T> __device__ void axpy_(T alpha, const T* x, T* y, long long n) { GRID_STRIDE(i, n) { y[i] += alpha * x[i]; } }
template <typename T> __device__ void scale_(T alpha, const T* x, T* y, long long n) { GRID_STRIDE(i, n) { y[i] = alpha * x[i]; } }
template <typename T> __device__ void fill_(T value, T* y, long long n) { GRID_STRIDE(i, n) { y[i] = value; } }
template <typename T> __device__ void add_bias_rows_(T* x, const T* bias, long long cols, long long n) { GRID_STRIDE(i, n) { x[i] += bias[i % cols]; } }

// ------------------------------------------------------------------ reductions
// [outer, n, inner] -> [outer, inner]; one thread per output element, summed in order.
template <typename T> __device__ void sum_axis_(const T* x, T* out, long long outer, long long n, long long inner) {
    GRID_STRIDE(i, outer * inner) {
        long long o = i / inner, j = i % inner;
        T acc = T(0);
        for (long long k = 0; k < n; ++k) acc += x[(o * n + k) * inner + j];
        out[i] = acc;
    }
}
template <typename T> __device__ void broadcast_axis_(const T* x, T* out, long long outer, long long n, long long inner) {
    GRID_STRIDE(i, outer * n * inner) {
        long long j = i % inner, o = i / (n * inner);
        out[i] = x[o * inner + j];
    }
}

// ------------------------------------------------------------------ softmax and loss (one thread per row)
template <typename T> __device__ void log_softmax_(const T* x, T* out, long long rows, long long cols) {
    GRID_STRIDE(r, rows) {
        const T* row = x + r * cols;
        T m = row[0];
        for (long long c = 1; c < cols; ++c) m = row[c] > m ? row[c] : m;
        T s = T(0);
        for (long long c = 0; c < cols; ++c) s += exp(row[c] - m);
        T lse = m + log(s);
        for (long long c = 0; c < cols; ++c) out[r * cols + c] = row[c] - lse;
    }
}
template <typename T> __device__ void nll_rows_(const T* lp, const long long* labels, T* out, long long rows, long long cols) {
    GRID_STRIDE(r, rows) { out[r] = -lp[r * cols + labels[r]]; }
}
template <typename T> __device__ void cross_entropy_backward_(const T* lp, const long long* labels, T scale, T* out, long long rows, long long cols) {
    GRID_STRIDE(i, rows * cols) {
        long long r = i / cols, c = i % cols;
        out[i] = scale * (exp(lp[i]) - (c == labels[r] ? T(1) : T(0)));
    }
}

// ------------------------------------------------------------------ layout
template <typename T> __device__ void copy_block_(const T* src, T* dst, long long outer, long long inner, long long src_dim, long long src_start, long long dst_dim, long long dst_start, long long len) {
    GRID_STRIDE(i, outer * len * inner) {
        long long j = i % inner, l = (i / inner) % len, o = i / (inner * len);
        dst[(o * dst_dim + dst_start + l) * inner + j] = src[(o * src_dim + src_start + l) * inner + j];
    }
}
template <typename T> __device__ void transpose01_(const T* x, T* out, long long d0, long long d1, long long inner) {
    GRID_STRIDE(i, d0 * d1 * inner) {
        long long k = i % inner, b = (i / inner) % d1, a = i / (inner * d1);
        out[(b * d0 + a) * inner + k] = x[i];
    }
}

// ------------------------------------------------------------------ rows
template <typename T> __device__ void gather_rows_(const T* src, const long long* idx, T* out, long long n, long long cols) {
    GRID_STRIDE(i, n * cols) { out[i] = src[idx[i / cols] * cols + i % cols]; }
}
template <typename T> __device__ void scatter_add_rows_(T* dst, const long long* idx, const T* src, long long n, long long cols) {
    GRID_STRIDE(i, n * cols) { atomicAdd(&dst[idx[i / cols] * cols + i % cols], src[i]); }
}
template <typename T> __device__ void scatter_rows_(T* dst, const long long* idx, const T* src, long long n, long long cols) {
    GRID_STRIDE(i, n * cols) { dst[idx[i / cols] * cols + i % cols] = src[i]; }
}

// ------------------------------------------------------------------ optimizers (PyTorch's order of operations)
template <typename T> __device__ __forceinline__ void adam_elem_(T& p, T g, T& m, T& v, T omb1, T b2, T omb2, T step_size, T bc2_sqrt, T eps, T wd) {
    if (wd != T(0)) g = g + wd * p;
    m = m + omb1 * (g - m);
    v = v * b2 + omb2 * g * g;
    T denom = sqrt(v) / bc2_sqrt + eps;
    p = p - step_size * (m / denom);
}
template <typename T> __device__ void adam_step_(T* p, const T* g, T* m, T* v, long long n, T omb1, T b2, T omb2, T step_size, T bc2_sqrt, T eps, T wd) {
    GRID_STRIDE(i, n) { adam_elem_(p[i], g[i], m[i], v[i], omb1, b2, omb2, step_size, bc2_sqrt, eps, wd); }
}
// scal: per step s = base+1..now, (step_size_s, bc2_sqrt_s) at [2(s-base-1)], [2(s-base-1)+1].
template <typename T> __device__ void adam_rows_catch_up_(T* p, const T* g, T* m, T* v, const long long* rows, const long long* from, const T* scal, long long nrows, long long cols, long long now, long long base, T omb1, T b2, T omb2, T eps, T wd) {
    GRID_STRIDE(i, nrows * cols) {
        long long k = i / cols, j = i % cols, e = rows[k] * cols + j;
        T pe = p[e], me = m[e], ve = v[e];
        bool fixed = wd == T(0) && me == T(0) && ve == T(0);
        if (!fixed)
            for (long long s = from[k] + 1; s < now; ++s) adam_elem_(pe, T(0), me, ve, omb1, b2, omb2, scal[2 * (s - base - 1)], scal[2 * (s - base - 1) + 1], eps, wd);
        adam_elem_(pe, g[i], me, ve, omb1, b2, omb2, scal[2 * (now - base - 1)], scal[2 * (now - base - 1) + 1], eps, wd);
        p[e] = pe; m[e] = me; v[e] = ve;
    }
}
template <typename T> __device__ void sparse_adam_rows_(T* p, const T* g, T* m, T* v, const long long* rows, long long nrows, long long cols, T omb1, T omb2, T step_size, T eps) {
    GRID_STRIDE(i, nrows * cols) {
        long long e = rows[i / cols] * cols + i % cols;
        T gv = g[i];
        m[e] = m[e] + (gv - m[e]) * omb1;
        v[e] = v[e] + (gv * gv - v[e]) * omb2;
        p[e] = p[e] + -step_size * (m[e] / (sqrt(v[e]) + eps));
    }
}
template <typename T> __device__ void sgd_step_(T* p, const T* g, T* buf, long long n, T lr, T mu, T damp, T wd, int nesterov, int first, int has_buf) {
    GRID_STRIDE(i, n) {
        T d = g[i];
        if (wd != T(0)) d = d + wd * p[i];
        if (has_buf) {
            buf[i] = first ? d : mu * buf[i] + damp * d;
            d = nesterov ? d + mu * buf[i] : buf[i];
        }
        p[i] = p[i] - lr * d;
    }
}

// ------------------------------------------------------------------ recurrent cells (one thread per (row, unit))
// LSTM forward of one step: gates [bs, 4H] hold x_proj + h W_hh^T; activates them in place.
template <typename T> __device__ void lstm_cell_fwd_(T* gates, const T* b_hh, T* c_state, T* cells, T* hp, long long bs, long long H) {
    GRID_STRIDE(i, bs * H) {
        long long r = i / H, j = i % H;
        T* g = gates + r * 4 * H;
        T bi = b_hh ? b_hh[j] : T(0), bf = b_hh ? b_hh[H + j] : T(0), bg = b_hh ? b_hh[2 * H + j] : T(0), bo = b_hh ? b_hh[3 * H + j] : T(0);
        T ig = sigmoid_(g[j] + bi), fg = sigmoid_(g[H + j] + bf), gg = tanh(g[2 * H + j] + bg), og = sigmoid_(g[3 * H + j] + bo);
        g[j] = ig; g[H + j] = fg; g[2 * H + j] = gg; g[3 * H + j] = og;
        T c = fg * c_state[i] + ig * gg;
        c_state[i] = c; cells[i] = c; hp[i] = og * tanh(c);
    }
}
// LSTM backward of one step. Row r's previous cell is prev_cells[r] when r < prev_rows,
// else c0[r] (prev_cells may be null).
template <typename T> __device__ void lstm_cell_bwd_(const T* gates, const T* cells, const T* prev_cells, long long prev_rows, const T* c0, const T* dh, T* dc, T* dgates, long long bs, long long H) {
    GRID_STRIDE(i, bs * H) {
        long long r = i / H, j = i % H;
        const T* g = gates + r * 4 * H;
        T ig = g[j], fg = g[H + j], gg = g[2 * H + j], og = g[3 * H + j];
        T cp = (prev_cells && r < prev_rows) ? prev_cells[i] : c0[i];
        T tc = tanh(cells[i]);
        T dct = dc[i] + dh[i] * og * (T(1) - tc * tc);
        T* d = dgates + r * 4 * H;
        d[j] = dct * gg * ig * (T(1) - ig);
        d[H + j] = dct * cp * fg * (T(1) - fg);
        d[2 * H + j] = dct * ig * (T(1) - gg * gg);
        d[3 * H + j] = dh[i] * tc * og * (T(1) - og);
        dc[i] = dct * fg;
    }
}
// GRU forward of one step: gates [bs, 3H] = x_proj rows, gh [bs, 3H] = h W_hh^T (+ b_hh added here).
template <typename T> __device__ void gru_cell_fwd_(T* gates, const T* gh, const T* b_hh, T* gh_n, T* h_state, T* out, long long bs, long long H) {
    GRID_STRIDE(i, bs * H) {
        long long r = i / H, j = i % H;
        T* x = gates + r * 3 * H;
        const T* hh = gh + r * 3 * H;
        T hr = hh[j] + (b_hh ? b_hh[j] : T(0)), hz = hh[H + j] + (b_hh ? b_hh[H + j] : T(0)), hn = hh[2 * H + j] + (b_hh ? b_hh[2 * H + j] : T(0));
        T rg = sigmoid_(x[j] + hr), z = sigmoid_(x[H + j] + hz), n = tanh(x[2 * H + j] + rg * hn);
        x[j] = rg; x[H + j] = z; x[2 * H + j] = n;
        gh_n[i] = hn;
        T h = (T(1) - z) * n + z * h_state[i];
        h_state[i] = h; out[i] = h;
    }
}
template <typename T> __device__ void gru_cell_bwd_(const T* gates, const T* gh_n, const T* prev_out, long long prev_rows, const T* h0, T* dh, T* dx, T* dgh, long long bs, long long H) {
    GRID_STRIDE(i, bs * H) {
        long long r = i / H, j = i % H;
        const T* g = gates + r * 3 * H;
        T rg = g[j], z = g[H + j], n = g[2 * H + j];
        T hp = (prev_out && r < prev_rows) ? prev_out[i] : h0[i];
        T d = dh[i];
        T dn_pre = d * (T(1) - z) * (T(1) - n * n);
        T dz_pre = d * (hp - n) * z * (T(1) - z);
        T dr_pre = dn_pre * gh_n[i] * rg * (T(1) - rg);
        T* a = dx + r * 3 * H;
        T* b = dgh + r * 3 * H;
        a[j] = dr_pre; a[H + j] = dz_pre; a[2 * H + j] = dn_pre;
        b[j] = dr_pre; b[H + j] = dz_pre; b[2 * H + j] = dn_pre * rg;
        dh[i] = d * z;
    }
}
// RNN forward of one step in place on out rows (x_proj + h W_hh^T), adding b_hh.
template <typename T> __device__ void rnn_cell_fwd_(T* out, const T* b_hh, long long bs, long long H, int relu) {
    GRID_STRIDE(i, bs * H) {
        T v = out[i] + (b_hh ? b_hh[i % H] : T(0));
        out[i] = relu ? (v > T(0) ? v : T(0)) : tanh(v);
    }
}
// RNN backward: dpre = (dh + go) * act'(y).
template <typename T> __device__ void rnn_cell_bwd_(const T* y, const T* dh, const T* go, T* dpre, long long bs, long long H, int relu) {
    GRID_STRIDE(i, bs * H) {
        T d = dh[i] + (go ? go[i] : T(0));
        dpre[i] = relu ? (y[i] > T(0) ? d : T(0)) : d * (T(1) - y[i] * y[i]);
    }
}
// Rows of the previous state per packed row: out[off + r] = states[prev_off + r] or init[r].
template <typename T> __device__ void gather_prev_(const T* init, const T* states, T* out, long long off, long long bs, long long prev_off, long long prev_rows, long long W) {
    GRID_STRIDE(i, bs * W) {
        long long r = i / W;
        out[off * W + i] = (prev_off >= 0 && r < prev_rows) ? states[prev_off * W + i] : init[i];
    }
}

// ------------------------------------------------------------------ extern "C" instantiations
// ------------------------------------------------------------------ persistent recurrences (one launch per layer-direction)
// Diamos et al. 2016, "Persistent RNNs", for the case where rows fit one block: one block
// per batch row and 4H threads, H <= KMAX. Each thread keeps its slice of W_hh in registers
// for every time step (forward: row `tid` of W_hh; backward: column `tid % H` of gate block
// `tid / H`); h, the activated gates and partial sums live in shared memory. Rows of a
// recurrence never interact, so the only synchronisation is __syncthreads inside the block.
// Packed batch_sizes `bs` [steps] with row offsets `off` [steps + 1]: row r is alive at the
// steps t < len(r) = #{t : bs[t] > r}; the reverse direction starts at its own last step.
__device__ __forceinline__ long long row_len_(const long long* bs, long long steps, long long r) {
    long long len = 0;
    while (len < steps && bs[len] > r) ++len;
    return len;
}
// Packed row holding the state row r of step t started from, or -1 for the initial state.
__device__ __forceinline__ long long prev_row_(const long long* bs, const long long* off, long long steps, long long t, long long r, int reverse) {
    if (!reverse) return t > 0 ? off[t - 1] + r : -1;
    return (t + 1 < steps && bs[t + 1] > r) ? off[t + 1] + r : -1;
}

// gates [N, 4H]: x_proj rows in, activated gates out. h_state/c_state [B, H]: h0/c0 in,
// h_n/c_n out. cells, out [N, H].
template <typename T, int KMAX> __device__ void lstm_persist_fwd_(T* gates, const T* w_hh, const T* b_hh, T* h_state, T* c_state, T* cells, T* out, const long long* bs, const long long* off, long long steps, long long H, int reverse) {
    __shared__ T h_s[KMAX];
    __shared__ T g_s[4 * KMAX];
    const long long r = blockIdx.x, tid = threadIdx.x, G = 4 * H;
    T w[KMAX];
#pragma unroll
    for (int k = 0; k < KMAX; ++k) w[k] = k < H ? w_hh[tid * H + k] : T(0);
    const T bias = b_hh ? b_hh[tid] : T(0);
    for (long long k = tid; k < KMAX; k += blockDim.x) h_s[k] = k < H ? h_state[r * H + k] : T(0);
    T c = tid < H ? c_state[r * H + tid] : T(0);
    const long long len = row_len_(bs, steps, r);
    __syncthreads();
    for (long long s = 0; s < len; ++s) {
        const long long t = reverse ? len - 1 - s : s;
        const long long q = off[t] + r;
        T acc = T(0);
#pragma unroll
        for (int k = 0; k < KMAX; ++k) acc += w[k] * h_s[k];
        const T pre = gates[q * G + tid] + acc + bias;
        const T a = (tid >= 2 * H && tid < 3 * H) ? tanh(pre) : sigmoid_(pre);
        gates[q * G + tid] = a;
        g_s[tid] = a;
        __syncthreads();
        if (tid < H) {
            c = g_s[H + tid] * c + g_s[tid] * g_s[2 * H + tid];
            const T hn = g_s[3 * H + tid] * tanh(c);
            cells[q * H + tid] = c;
            out[q * H + tid] = hn;
            h_s[tid] = hn;
        }
        __syncthreads();
    }
    if (tid < H) { h_state[r * H + tid] = h_s[tid]; c_state[r * H + tid] = c; }
}

// gates, cells [N, ..] as saved by the forward; gout [N, H] or null. dh_state/dc_state
// [B, H]: gradients of h_n/c_n in, of h0/c0 out. dgates [N, 4H] out.
template <typename T, int KMAX> __device__ void lstm_persist_bwd_(const T* gates, const T* cells, const T* w_hh, const T* c0, const T* gout, T* dh_state, T* dc_state, T* dgates, const long long* bs, const long long* off, long long steps, long long H, int reverse) {
    __shared__ T dh_s[KMAX];
    __shared__ T dg_s[4 * KMAX];
    __shared__ T part_s[4 * KMAX];
    const long long r = blockIdx.x, tid = threadIdx.x, G = 4 * H;
    const long long gate = tid / H, k = tid % H;
    T w[KMAX];
#pragma unroll
    for (int m = 0; m < KMAX; ++m) w[m] = m < H ? w_hh[(gate * H + m) * H + k] : T(0);
    // Entries past 4H are read (times a zero weight) by the last gate block: keep them zero.
    for (long long i = tid; i < 4 * KMAX; i += blockDim.x) dg_s[i] = T(0);
    for (long long i = tid; i < KMAX; i += blockDim.x) dh_s[i] = i < H ? dh_state[r * H + i] : T(0);
    T dc = tid < H ? dc_state[r * H + tid] : T(0);
    const long long len = row_len_(bs, steps, r);
    __syncthreads();
    for (long long s = 0; s < len; ++s) {
        const long long t = reverse ? s : len - 1 - s;
        const long long q = off[t] + r;
        if (tid < H) {
            const T* g = gates + q * G;
            const T ig = g[tid], fg = g[H + tid], gg = g[2 * H + tid], og = g[3 * H + tid];
            const T dh = dh_s[tid] + (gout ? gout[q * H + tid] : T(0));
            const long long pq = prev_row_(bs, off, steps, t, r, reverse);
            const T cp = pq >= 0 ? cells[pq * H + tid] : c0[r * H + tid];
            const T tc = tanh(cells[q * H + tid]);
            const T dct = dc + dh * og * (T(1) - tc * tc);
            const T di = dct * gg * ig * (T(1) - ig), df = dct * cp * fg * (T(1) - fg);
            const T dgg = dct * ig * (T(1) - gg * gg), d_o = dh * tc * og * (T(1) - og);
            dc = dct * fg;
            T* d = dgates + q * G;
            d[tid] = di; d[H + tid] = df; d[2 * H + tid] = dgg; d[3 * H + tid] = d_o;
            dg_s[tid] = di; dg_s[H + tid] = df; dg_s[2 * H + tid] = dgg; dg_s[3 * H + tid] = d_o;
        }
        __syncthreads();
        T acc = T(0);
#pragma unroll
        for (int m = 0; m < KMAX; ++m) acc += dg_s[gate * H + m] * w[m];
        part_s[tid] = acc;
        __syncthreads();
        if (tid < H) dh_s[tid] = part_s[tid] + part_s[H + tid] + part_s[2 * H + tid] + part_s[3 * H + tid];
        __syncthreads();
    }
    if (tid < H) { dh_state[r * H + tid] = dh_s[tid]; dc_state[r * H + tid] = dc; }
}

// GRU, 3H threads per row (gate order r, z, n; b_hn inside the reset product). gates [N, 3H]:
// x_proj rows in, activated gates out; gh_n [N, H] saves W_hn h + b_hn; h_state [B, H]: h0
// in, h_n out.
template <typename T, int KMAX> __device__ void gru_persist_fwd_(T* gates, const T* w_hh, const T* b_hh, T* gh_n, T* h_state, T* out, const long long* bs, const long long* off, long long steps, long long H, int reverse) {
    __shared__ T h_s[KMAX];
    __shared__ T gh_s[3 * KMAX];
    const long long r = blockIdx.x, tid = threadIdx.x, G = 3 * H;
    T w[KMAX];
#pragma unroll
    for (int k = 0; k < KMAX; ++k) w[k] = k < H ? w_hh[tid * H + k] : T(0);
    const T bias = b_hh ? b_hh[tid] : T(0);
    for (long long k = tid; k < KMAX; k += blockDim.x) h_s[k] = k < H ? h_state[r * H + k] : T(0);
    const long long len = row_len_(bs, steps, r);
    __syncthreads();
    for (long long s = 0; s < len; ++s) {
        const long long t = reverse ? len - 1 - s : s;
        const long long q = off[t] + r;
        T acc = T(0);
#pragma unroll
        for (int k = 0; k < KMAX; ++k) acc += w[k] * h_s[k];
        gh_s[tid] = acc + bias;
        __syncthreads();
        if (tid < H) {
            T* x = gates + q * G;
            const T rg = sigmoid_(x[tid] + gh_s[tid]);
            const T z = sigmoid_(x[H + tid] + gh_s[H + tid]);
            const T nn = tanh(x[2 * H + tid] + rg * gh_s[2 * H + tid]);
            x[tid] = rg; x[H + tid] = z; x[2 * H + tid] = nn;
            gh_n[q * H + tid] = gh_s[2 * H + tid];
            const T hn = (T(1) - z) * nn + z * h_s[tid];
            out[q * H + tid] = hn;
            h_s[tid] = hn;
        }
        __syncthreads();
    }
    if (tid < H) h_state[r * H + tid] = h_s[tid];
}

// GRU backward, 3H threads per row. dh_state [B, H]: gradient of h_n in, of h0 out. dx [N, 3H]
// (gradient of x_proj) and dgh [N, 3H] (of the recurrent pre-activations) out.
template <typename T, int KMAX> __device__ void gru_persist_bwd_(const T* gates, const T* gh_n, const T* w_hh, const T* h0, const T* out, const T* gout, T* dh_state, T* dx, T* dgh, const long long* bs, const long long* off, long long steps, long long H, int reverse) {
    __shared__ T dh_s[KMAX];
    __shared__ T dg_s[3 * KMAX];
    __shared__ T part_s[3 * KMAX];
    const long long r = blockIdx.x, tid = threadIdx.x, G = 3 * H;
    const long long gate = tid / H, k = tid % H;
    T w[KMAX];
#pragma unroll
    for (int m = 0; m < KMAX; ++m) w[m] = m < H ? w_hh[(gate * H + m) * H + k] : T(0);
    for (long long i = tid; i < 3 * KMAX; i += blockDim.x) dg_s[i] = T(0);
    for (long long i = tid; i < KMAX; i += blockDim.x) dh_s[i] = i < H ? dh_state[r * H + i] : T(0);
    const long long len = row_len_(bs, steps, r);
    __syncthreads();
    for (long long s = 0; s < len; ++s) {
        const long long t = reverse ? s : len - 1 - s;
        const long long q = off[t] + r;
        T direct = T(0);
        if (tid < H) {
            const T* g = gates + q * G;
            const T rg = g[tid], z = g[H + tid], nn = g[2 * H + tid];
            const T d = dh_s[tid] + (gout ? gout[q * H + tid] : T(0));
            const long long pq = prev_row_(bs, off, steps, t, r, reverse);
            const T hp = pq >= 0 ? out[pq * H + tid] : h0[r * H + tid];
            const T dn = d * (T(1) - z) * (T(1) - nn * nn);
            const T dz = d * (hp - nn) * z * (T(1) - z);
            const T dr = dn * gh_n[q * H + tid] * rg * (T(1) - rg);
            T* dxr = dx + q * G;
            T* dghr = dgh + q * G;
            dxr[tid] = dr; dxr[H + tid] = dz; dxr[2 * H + tid] = dn;
            dghr[tid] = dr; dghr[H + tid] = dz; dghr[2 * H + tid] = dn * rg;
            dg_s[tid] = dr; dg_s[H + tid] = dz; dg_s[2 * H + tid] = dn * rg;
            direct = d * z;
        }
        __syncthreads();
        T acc = T(0);
#pragma unroll
        for (int m = 0; m < KMAX; ++m) acc += dg_s[gate * H + m] * w[m];
        part_s[tid] = acc;
        __syncthreads();
        if (tid < H) dh_s[tid] = direct + part_s[tid] + part_s[H + tid] + part_s[2 * H + tid];
        __syncthreads();
    }
    if (tid < H) dh_state[r * H + tid] = dh_s[tid];
}

// Elman RNN (tanh or relu), H threads per row. out [N, H]: x_proj rows in, states out.
template <typename T, int KMAX> __device__ void rnn_persist_fwd_(T* out, const T* w_hh, const T* b_hh, T* h_state, const long long* bs, const long long* off, long long steps, long long H, int reverse, int relu) {
    __shared__ T h_s[KMAX];
    const long long r = blockIdx.x, tid = threadIdx.x;
    T w[KMAX];
#pragma unroll
    for (int k = 0; k < KMAX; ++k) w[k] = k < H ? w_hh[tid * H + k] : T(0);
    const T bias = b_hh ? b_hh[tid] : T(0);
    for (long long k = tid; k < KMAX; k += blockDim.x) h_s[k] = k < H ? h_state[r * H + k] : T(0);
    const long long len = row_len_(bs, steps, r);
    __syncthreads();
    for (long long s = 0; s < len; ++s) {
        const long long t = reverse ? len - 1 - s : s;
        const long long q = off[t] + r;
        T acc = T(0);
#pragma unroll
        for (int k = 0; k < KMAX; ++k) acc += w[k] * h_s[k];
        const T v = out[q * H + tid] + acc + bias;
        const T y = relu ? (v > T(0) ? v : T(0)) : tanh(v);
        out[q * H + tid] = y;
        __syncthreads();
        h_s[tid] = y;
        __syncthreads();
    }
    h_state[r * H + tid] = h_s[tid];
}

// Elman RNN backward, H threads per row. dh_state [B, H]: gradient of h_n in, of h0 out.
// dpre [N, H] (gradient of the pre-activations, = of x_proj) out.
template <typename T, int KMAX> __device__ void rnn_persist_bwd_(const T* out, const T* w_hh, const T* gout, T* dh_state, T* dpre, const long long* bs, const long long* off, long long steps, long long H, int reverse, int relu) {
    __shared__ T dh_s[KMAX];
    __shared__ T dp_s[KMAX];
    const long long r = blockIdx.x, tid = threadIdx.x;
    T w[KMAX];
#pragma unroll
    for (int m = 0; m < KMAX; ++m) w[m] = m < H ? w_hh[m * H + tid] : T(0);
    for (long long i = tid; i < KMAX; i += blockDim.x) { dp_s[i] = T(0); dh_s[i] = i < H ? dh_state[r * H + i] : T(0); }
    const long long len = row_len_(bs, steps, r);
    __syncthreads();
    for (long long s = 0; s < len; ++s) {
        const long long t = reverse ? s : len - 1 - s;
        const long long q = off[t] + r;
        const T d = dh_s[tid] + (gout ? gout[q * H + tid] : T(0));
        const T y = out[q * H + tid];
        const T dp = relu ? (y > T(0) ? d : T(0)) : d * (T(1) - y * y);
        dpre[q * H + tid] = dp;
        dp_s[tid] = dp;
        __syncthreads();
        T acc = T(0);
#pragma unroll
        for (int m = 0; m < KMAX; ++m) acc += dp_s[m] * w[m];
        __syncthreads();
        dh_s[tid] = acc;
    }
    __syncthreads();
    dh_state[r * H + tid] = dh_s[tid];
}

// ------------------------------------------------------------------ scan cells (minGRU, minLSTM)
// No recurrent weight: every step is the affine map h -> a·h + b with a, b from the row's
// x_proj alone (cell 0 minGRU, blocks z, h̃: a = 1 − σ(k_z), b = σ(k_z)·h̃; cell 1 minLSTM,
// blocks f, i, h̃: a = f/(f+i), b = i/(f+i)·h̃), and affine maps compose associatively, so
// the pass over time is a parallel prefix scan. One block per (batch row, 32 columns):
// lanes run over columns (coalesced reads of x_proj), the block's SCAN_CHUNKS warps split
// the row's steps into that many chunks. Three phases: every chunk composes its steps'
// maps into one (A, B); one thread per column scans the chunks' maps from h0, leaving each
// chunk's incoming state; every chunk reruns its steps from that state, writing h_t.
// Depth len/SCAN_CHUNKS + SCAN_CHUNKS instead of len. The CPU twin is recur-cpu's
// kernels/scan.rs (same formulas; the chunks regroup the products, so the last bits may
// differ from it).
#define SCAN_LANES 32
#define SCAN_CHUNKS 8
__device__ __forceinline__ long long scan_len_(const long long* bs, long long steps, long long r) {
  long long n = 0;
  while (n < steps && bs[n] > r) ++n;
  return n;
}
// Step map of packed row `x` (its G·H projections), column j: h -> a·h + b.
template <typename T> __device__ __forceinline__ void scan_map_(const T* x, long long H, long long j, int cell, T& a, T& b) {
  if (cell == 0) {
    T z = sigmoid_(x[j]);
    a = T(1) - z;
    b = z * x[H + j];
  } else {
    T f = sigmoid_(x[j]), in = sigmoid_(x[H + j]);
    T s = f + in;
    a = f / s;
    b = in / s * x[2 * H + j];
  }
}
// Packed row of the row-r sequence's k-th step in processing order.
__device__ __forceinline__ long long scan_row_(const long long* off, long long len, long long k, long long r, int rev) {
  return off[rev ? len - 1 - k : k] + r;
}
template <typename T> __device__ void scan_fwd_(const T* xp, T* hs, T* out, const long long* bs, const long long* off, long long steps, long long B, long long H, int rev, int cell) {
  __shared__ T sa[SCAN_CHUNKS][SCAN_LANES], sb[SCAN_CHUNKS][SCAN_LANES];
  long long G = (cell == 0 ? 2 : 3) * H;
  int lane = threadIdx.x, c = threadIdx.y;
  long long j = (long long)blockIdx.x * SCAN_LANES + lane;
  bool live = j < H;
  for (long long r = blockIdx.y; r < B; r += gridDim.y) {
    long long len = scan_len_(bs, steps, r);
    long long per = (len + SCAN_CHUNKS - 1) / SCAN_CHUNKS;
    long long k0 = min(len, c * per), k1 = min(len, k0 + per);
    T A = T(1), Bm = T(0), a, b;
    if (live)
      for (long long k = k0; k < k1; ++k) {
        scan_map_(xp + scan_row_(off, len, k, r, rev) * G, H, j, cell, a, b);
        A = a * A;
        Bm = a * Bm + b;
      }
    sa[c][lane] = A;
    sb[c][lane] = Bm;
    __syncthreads();
    if (c == 0 && live) {
      T h = hs[r * H + j];
      for (int q = 0; q < SCAN_CHUNKS; ++q) {
        T qa = sa[q][lane], qb = sb[q][lane];
        sb[q][lane] = h;  // the state entering chunk q
        h = qa * h + qb;
      }
    }
    __syncthreads();
    if (live && k0 < k1) {
      T h = sb[c][lane];
      for (long long k = k0; k < k1; ++k) {
        long long row = scan_row_(off, len, k, r, rev);
        scan_map_(xp + row * G, H, j, cell, a, b);
        h = a * h + b;
        out[row * H + j] = h;
      }
      if (k1 == len) hs[r * H + j] = h;
    }
    __syncthreads();
  }
}
// Backward runs the same three phases from the last step to the first. The gradient leaving
// step k towards h_{k−1} is e_k = a_k·(e_{k+1} + ∂L/∂out_k), again an affine scan, started
// from ∂L/∂h_n; the gates' gradients then follow step by step as in the sequential pass.
template <typename T> __device__ void scan_bwd_(const T* xp, const T* h0, const T* out, const T* go, T* dh, T* dx, const long long* bs, const long long* off, long long steps, long long B, long long H, int rev, int cell) {
  __shared__ T sa[SCAN_CHUNKS][SCAN_LANES], sb[SCAN_CHUNKS][SCAN_LANES];
  long long G = (cell == 0 ? 2 : 3) * H;
  int lane = threadIdx.x, c = threadIdx.y;
  long long j = (long long)blockIdx.x * SCAN_LANES + lane;
  bool live = j < H;
  for (long long r = blockIdx.y; r < B; r += gridDim.y) {
    long long len = scan_len_(bs, steps, r);
    long long per = (len + SCAN_CHUNKS - 1) / SCAN_CHUNKS;
    long long k0 = min(len, c * per), k1 = min(len, k0 + per);
    T A = T(1), Bm = T(0), a, b;
    if (live)
      for (long long k = k1 - 1; k >= k0; --k) {
        long long row = scan_row_(off, len, k, r, rev);
        scan_map_(xp + row * G, H, j, cell, a, b);
        T g = go ? go[row * H + j] : T(0);
        A = a * A;
        Bm = a * (Bm + g);
      }
    sa[c][lane] = A;
    sb[c][lane] = Bm;
    __syncthreads();
    if (c == 0 && live) {
      T e = dh[r * H + j];
      for (int q = SCAN_CHUNKS - 1; q >= 0; --q) {
        T qa = sa[q][lane], qb = sb[q][lane];
        sb[q][lane] = e;  // the gradient entering chunk q from the steps after it
        e = qa * e + qb;
      }
    }
    __syncthreads();
    if (live && k0 < k1) {
      T d = sb[c][lane];
      for (long long k = k1 - 1; k >= k0; --k) {
        long long row = scan_row_(off, len, k, r, rev);
        T prev = k == 0 ? h0[r * H + j] : out[scan_row_(off, len, k - 1, r, rev) * H + j];
        if (go) d += go[row * H + j];
        const T* x = xp + row * G;
        T* g = dx + row * G;
        if (cell == 0) {
          T z = sigmoid_(x[j]), cand = x[H + j];
          g[H + j] = d * z;
          g[j] = d * (cand - prev) * z * (T(1) - z);
          d = d * (T(1) - z);
        } else {
          T f = sigmoid_(x[j]), in = sigmoid_(x[H + j]), cand = x[2 * H + j];
          T s = f + in;
          T dfp = d * (prev - cand) / (s * s);
          g[2 * H + j] = d * (in / s);
          g[j] = dfp * in * f * (T(1) - f);
          g[H + j] = -(dfp * f) * in * (T(1) - in);
          d = d * (f / s);
        }
      }
      if (k0 == 0) dh[r * H + j] = d;
    }
    __syncthreads();
  }
}

#define INSTANTIATE(T, S) \
extern "C" __global__ void axpy_##S(T alpha, const T* x, T* y, long long n) { axpy_(alpha, x, y, n); } \
extern "C" __global__ void scale_##S(T alpha, const T* x, T* y, long long n) { scale_(alpha, x, y, n); } \
extern "C" __global__ void fill_##S(T value, T* y, long long n) { fill_(value, y, n); } \
extern "C" __global__ void add_bias_rows_##S(T* x, const T* b, long long cols, long long n) { add_bias_rows_(x, b, cols, n); } \
extern "C" __global__ void sum_axis_##S(const T* x, T* o, long long outer, long long n, long long inner) { sum_axis_(x, o, outer, n, inner); } \
extern "C" __global__ void broadcast_axis_##S(const T* x, T* o, long long outer, long long n, long long inner) { broadcast_axis_(x, o, outer, n, inner); } \
extern "C" __global__ void log_softmax_##S(const T* x, T* o, long long rows, long long cols) { log_softmax_(x, o, rows, cols); } \
extern "C" __global__ void nll_rows_##S(const T* lp, const long long* l, T* o, long long rows, long long cols) { nll_rows_(lp, l, o, rows, cols); } \
extern "C" __global__ void cross_entropy_backward_##S(const T* lp, const long long* l, T s, T* o, long long rows, long long cols) { cross_entropy_backward_(lp, l, s, o, rows, cols); } \
extern "C" __global__ void copy_block_##S(const T* s, T* d, long long outer, long long inner, long long sd, long long ss, long long dd, long long ds, long long len) { copy_block_(s, d, outer, inner, sd, ss, dd, ds, len); } \
extern "C" __global__ void transpose01_##S(const T* x, T* o, long long d0, long long d1, long long inner) { transpose01_(x, o, d0, d1, inner); } \
extern "C" __global__ void gather_rows_##S(const T* s, const long long* idx, T* o, long long n, long long cols) { gather_rows_(s, idx, o, n, cols); } \
extern "C" __global__ void scatter_add_rows_##S(T* d, const long long* idx, const T* s, long long n, long long cols) { scatter_add_rows_(d, idx, s, n, cols); } \
extern "C" __global__ void scatter_rows_##S(T* d, const long long* idx, const T* s, long long n, long long cols) { scatter_rows_(d, idx, s, n, cols); } \
extern "C" __global__ void adam_step_##S(T* p, const T* g, T* m, T* v, long long n, T a, T b, T c, T d, T e, T f, T w) { adam_step_(p, g, m, v, n, a, b, c, d, e, f, w); } \
extern "C" __global__ void adam_rows_catch_up_##S(T* p, const T* g, T* m, T* v, const long long* rows, const long long* from, const T* scal, long long nrows, long long cols, long long now, long long base, T a, T b, T c, T e, T w) { adam_rows_catch_up_(p, g, m, v, rows, from, scal, nrows, cols, now, base, a, b, c, e, w); } \
extern "C" __global__ void sparse_adam_rows_##S(T* p, const T* g, T* m, T* v, const long long* rows, long long nrows, long long cols, T a, T b, T s, T e) { sparse_adam_rows_(p, g, m, v, rows, nrows, cols, a, b, s, e); } \
extern "C" __global__ void sgd_step_##S(T* p, const T* g, T* buf, long long n, T lr, T mu, T damp, T wd, int nest, int first, int has_buf) { sgd_step_(p, g, buf, n, lr, mu, damp, wd, nest, first, has_buf); } \
extern "C" __global__ void lstm_cell_fwd_##S(T* g, const T* b, T* cs, T* cells, T* hp, long long bs, long long H) { lstm_cell_fwd_(g, b, cs, cells, hp, bs, H); } \
extern "C" __global__ void lstm_cell_bwd_##S(const T* g, const T* cells, const T* pc, long long pr, const T* c0, const T* dh, T* dc, T* dg, long long bs, long long H) { lstm_cell_bwd_(g, cells, pc, pr, c0, dh, dc, dg, bs, H); } \
extern "C" __global__ void gru_cell_fwd_##S(T* g, const T* gh, const T* b, T* ghn, T* hs, T* o, long long bs, long long H) { gru_cell_fwd_(g, gh, b, ghn, hs, o, bs, H); } \
extern "C" __global__ void gru_cell_bwd_##S(const T* g, const T* ghn, const T* po, long long pr, const T* h0, T* dh, T* dx, T* dgh, long long bs, long long H) { gru_cell_bwd_(g, ghn, po, pr, h0, dh, dx, dgh, bs, H); } \
extern "C" __global__ void rnn_cell_fwd_##S(T* o, const T* b, long long bs, long long H, int relu) { rnn_cell_fwd_(o, b, bs, H, relu); } \
extern "C" __global__ void rnn_cell_bwd_##S(const T* y, const T* dh, const T* go, T* d, long long bs, long long H, int relu) { rnn_cell_bwd_(y, dh, go, d, bs, H, relu); } \
extern "C" __global__ void __launch_bounds__(256) lstm_persist_fwd_32_##S(T* g, const T* w, const T* b, T* hs, T* cs, T* cl, T* o, const long long* bs, const long long* off, long long steps, long long H, int rev) { lstm_persist_fwd_<T, 32>(g, w, b, hs, cs, cl, o, bs, off, steps, H, rev); } \
extern "C" __global__ void __launch_bounds__(256) lstm_persist_fwd_64_##S(T* g, const T* w, const T* b, T* hs, T* cs, T* cl, T* o, const long long* bs, const long long* off, long long steps, long long H, int rev) { lstm_persist_fwd_<T, 64>(g, w, b, hs, cs, cl, o, bs, off, steps, H, rev); } \
extern "C" __global__ void __launch_bounds__(256) lstm_persist_bwd_32_##S(const T* g, const T* cl, const T* w, const T* c0, const T* go, T* dh, T* dc, T* dg, const long long* bs, const long long* off, long long steps, long long H, int rev) { lstm_persist_bwd_<T, 32>(g, cl, w, c0, go, dh, dc, dg, bs, off, steps, H, rev); } \
extern "C" __global__ void __launch_bounds__(256) lstm_persist_bwd_64_##S(const T* g, const T* cl, const T* w, const T* c0, const T* go, T* dh, T* dc, T* dg, const long long* bs, const long long* off, long long steps, long long H, int rev) { lstm_persist_bwd_<T, 64>(g, cl, w, c0, go, dh, dc, dg, bs, off, steps, H, rev); } \
extern "C" __global__ void __launch_bounds__(192) gru_persist_fwd_32_##S(T* g, const T* w, const T* b, T* ghn, T* hs, T* o, const long long* bs, const long long* off, long long steps, long long H, int rev) { gru_persist_fwd_<T, 32>(g, w, b, ghn, hs, o, bs, off, steps, H, rev); } \
extern "C" __global__ void __launch_bounds__(192) gru_persist_bwd_32_##S(const T* g, const T* ghn, const T* w, const T* h0, const T* o, const T* go, T* dh, T* dx, T* dgh, const long long* bs, const long long* off, long long steps, long long H, int rev) { gru_persist_bwd_<T, 32>(g, ghn, w, h0, o, go, dh, dx, dgh, bs, off, steps, H, rev); } \
extern "C" __global__ void __launch_bounds__(64) rnn_persist_fwd_32_##S(T* o, const T* w, const T* b, T* hs, const long long* bs, const long long* off, long long steps, long long H, int rev, int relu) { rnn_persist_fwd_<T, 32>(o, w, b, hs, bs, off, steps, H, rev, relu); } \
extern "C" __global__ void __launch_bounds__(64) rnn_persist_bwd_32_##S(const T* o, const T* w, const T* go, T* dh, T* dp, const long long* bs, const long long* off, long long steps, long long H, int rev, int relu) { rnn_persist_bwd_<T, 32>(o, w, go, dh, dp, bs, off, steps, H, rev, relu); } \
extern "C" __global__ void __launch_bounds__(192) gru_persist_fwd_64_##S(T* g, const T* w, const T* b, T* ghn, T* hs, T* o, const long long* bs, const long long* off, long long steps, long long H, int rev) { gru_persist_fwd_<T, 64>(g, w, b, ghn, hs, o, bs, off, steps, H, rev); } \
extern "C" __global__ void __launch_bounds__(192) gru_persist_bwd_64_##S(const T* g, const T* ghn, const T* w, const T* h0, const T* o, const T* go, T* dh, T* dx, T* dgh, const long long* bs, const long long* off, long long steps, long long H, int rev) { gru_persist_bwd_<T, 64>(g, ghn, w, h0, o, go, dh, dx, dgh, bs, off, steps, H, rev); } \
extern "C" __global__ void __launch_bounds__(64) rnn_persist_fwd_64_##S(T* o, const T* w, const T* b, T* hs, const long long* bs, const long long* off, long long steps, long long H, int rev, int relu) { rnn_persist_fwd_<T, 64>(o, w, b, hs, bs, off, steps, H, rev, relu); } \
extern "C" __global__ void __launch_bounds__(64) rnn_persist_bwd_64_##S(const T* o, const T* w, const T* go, T* dh, T* dp, const long long* bs, const long long* off, long long steps, long long H, int rev, int relu) { rnn_persist_bwd_<T, 64>(o, w, go, dh, dp, bs, off, steps, H, rev, relu); } \
extern "C" __global__ void scan_fwd_##S(const T* xp, T* hs, T* o, const long long* bs, const long long* off, long long steps, long long B, long long H, int rev, int cell) { scan_fwd_(xp, hs, o, bs, off, steps, B, H, rev, cell); } \
extern "C" __global__ void scan_bwd_##S(const T* xp, const T* h0, const T* o, const T* go, T* dh, T* dx, const long long* bs, const long long* off, long long steps, long long B, long long H, int rev, int cell) { scan_bwd_(xp, h0, o, go, dh, dx, bs, off, steps, B, H, rev, cell); } \
extern "C" __global__ void gather_prev_##S(const T* init, const T* states, T* o, long long off, long long bs, long long po, long long pr, long long W) { gather_prev_(init, states, o, off, bs, po, pr, W); }

INSTANTIATE(float, f32)
INSTANTIATE(double, f64)
