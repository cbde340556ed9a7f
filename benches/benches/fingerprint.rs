//! Criterion benchmark of the fingerprint matcher: one probe against a
//! pre-encoded gallery (FVC2002 DB1, `xyt`), one thread. The figure to read
//! is the throughput, in comparisons per second per core, at every
//! kernel level this CPU has.
//!
//! Run with `cargo bench -p hitdex-benches --bench fingerprint`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hitdex_benches::fingerprint::{encode_all, load_dir};
use hitdex_datasets::shared::shared_datasets_or_skip;
use hitdex_engine::fingerprint::matcher::score_at;
use hitdex_engine::kernels::available_levels;

fn compare(c: &mut Criterion) {
    let Some(shared) = shared_datasets_or_skip("fingerprint_compare") else { return };
    let dir = shared.join("fingerprint/fvc2002/DB1_B/xyt");
    let entries = load_dir(&dir, None).expect("FVC2002 DB1 reads");
    let gallery = encode_all(&entries);
    let probe = &gallery[0];
    let mut g = c.benchmark_group("fingerprint_compare");
    g.throughput(Throughput::Elements(gallery.len() as u64));
    for level in available_levels() {
        g.bench_function(format!("probe_vs_fvc2002_db1/{level:?}"), |b| b.iter(|| gallery.iter().map(|t| score_at(level, black_box(probe), t)).sum::<f32>()));
    }
    g.finish();
}

criterion_group!(benches, compare);
criterion_main!(benches);
