/* The typing-slip alignment of com/text/typos.py (_align and its per-position indel costs),
 * in C for speed. Optional: typos.py loads it with ctypes when scripts/setup.sh has built it
 * (gcc -O2 -shared -fPIC; see build_typing_align in typos.py) and otherwise runs the same
 * alignment in Python. Both must give the same value for every pair (a hypothesis test in
 * tests/ingest/geocode/test_typing_align_c.py compares them): the recurrences, the order
 * of the additions and the early stop are the Python ones, step for step, in doubles; the
 * caller rounds to 6 decimals as the Python code does.
 *
 * Characters are classified by a table the caller fills (typos.py owns the costs):
 *   cls[c] & 1: a vowel or tone mark, or a vowel written before/after the consonant
 *               (added or left out for MARK_INDEL);
 *   cls[c] & 2: one of the marks after which อ ว ย belong to the vowel;
 *   cls[c] & 4: อ ว ย (MARK_INDEL after a mark);
 *   ids[c]:     the row/column of the substitution table (0: none but the default).
 * for c below 0x1000 (Thai is U+0E00-U+0E7F); other characters have class 0 and id 0.
 */
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#define ALPHABET 0x1000
#define MAX_LEN 256

static const unsigned char *cls;
static const double *costs;

static double indel_cost(const wchar_t *s, int k) {
    /* costs: [doubled, mark indel, indel] */
    wchar_t ch = s[k];
    wchar_t before = k > 0 ? s[k - 1] : 0;
    unsigned c_ch = (unsigned)ch < ALPHABET ? cls[ch] : 0;
    unsigned c_before = (k > 0 && (unsigned)before < ALPHABET) ? cls[before] : 0;
    if (k > 0 && ch == before) return costs[0];
    if (c_ch & 1) return costs[1];
    if ((c_ch & 4) && (c_before & 2)) return costs[1];
    return costs[2];
}

static const unsigned short *ids;
static const double *sub;
static int nsub;
static double default_sub, swap_cost;

/* Keep the caller's tables (typos.py holds them for the life of the process). */
void typing_align_init(const unsigned char *cls_, const unsigned short *ids_, const double *sub_,
                       int nsub_, const double *costs_, double default_sub_, double swap_) {
    cls = cls_;
    ids = ids_;
    sub = sub_;
    nsub = nsub_;
    costs = costs_;
    default_sub = default_sub_;
    swap_cost = swap_;
}

/* Align a[head:la-tail] with b[head:lb-tail]; -1 when a middle is too long for the stack. */
double typing_align(const wchar_t *a, int la, const wchar_t *b, int lb, int head, int tail,
                    double limit);

/* The whole of typos._distance after its bound: the common head and tail found (keeping
 * `context` characters of each in the alignment, as typos._CONTEXT), then the alignment. */
double typing_distance_trimmed(const wchar_t *a, int la, const wchar_t *b, int lb, int context,
                               double limit) {
    int shortest = la < lb ? la : lb;
    int head = 0;
    while (head < shortest && a[head] == b[head]) head++;
    int tail = 0;
    while (tail < shortest - head && a[la - 1 - tail] == b[lb - 1 - tail]) tail++;
    head = head > context ? head - context : 0;
    tail = tail > context ? tail - context : 0;
    return typing_align(a, la, b, lb, head, tail, limit);
}

double typing_align(const wchar_t *a, int la, const wchar_t *b, int lb, int head, int tail,
                    double limit) {
    double rows[3][MAX_LEN + 1];
    double del_a[MAX_LEN], ins_b[MAX_LEN];
    int ma = la - head - tail, mb = lb - head - tail;
    if (ma < 0 || mb < 0 || ma > MAX_LEN || mb > MAX_LEN) return -1.0;
    const wchar_t *sa = a + head, *sb = b + head;
    for (int i = 0; i < ma; i++) del_a[i] = indel_cost(a, head + i);
    for (int j = 0; j < mb; j++) ins_b[j] = indel_cost(b, head + j);
    double *older = rows[0], *prev = rows[0], *cur = rows[1];
    double total = 0.0;
    prev[0] = 0.0;
    for (int j = 0; j < mb; j++) {
        total += ins_b[j];
        prev[j + 1] = total;
    }
    double prev_min = 0.0;
    wchar_t a_before = 0;
    int have_before = 0;
    for (int i = 0; i < ma; i++) {
        wchar_t ca = sa[i];
        double del_cost = del_a[i];
        unsigned id_a = (unsigned)ca < ALPHABET ? ids[ca] : 0;
        const double *subs = sub + (size_t)id_a * (size_t)nsub;
        double left = prev[0] + del_cost;
        cur[0] = left;
        double row_min = left;
        for (int j = 0; j < mb; j++) {
            wchar_t cb = sb[j];
            double diag = prev[j], up = prev[j + 1];
            double best;
            if (ca == cb) {
                best = diag;
            } else {
                unsigned id_b = (unsigned)cb < ALPHABET ? ids[cb] : 0;
                double s = (id_a && id_b) ? subs[id_b] : default_sub;
                best = diag + s;
            }
            double d = up + del_cost;
            if (d < best) best = d;
            d = left + ins_b[j];
            if (d < best) best = d;
            if (have_before && j > 0 && cb == a_before && ca == sb[j - 1] && ca != cb) {
                d = older[j - 1] + swap_cost;
                if (d < best) best = d;
            }
            cur[j + 1] = best;
            left = best;
            if (best < row_min) row_min = best;
        }
        if (row_min > limit && prev_min > limit) return row_min < prev_min ? row_min : prev_min;
        /* older <- prev, prev <- cur, cur <- the slot that is neither. */
        double *next = (i == 0) ? rows[2] : older;
        older = prev;
        prev = cur;
        cur = next;
        prev_min = row_min;
        a_before = ca;
        have_before = 1;
    }
    return prev[mb];
}
