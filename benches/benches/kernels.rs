//! Criterion benchmarks of the DNA kernels: one comparison, and a scan of a
//! block of stored cores, at every instruction-set level this CPU has.
//!
//! Run with `cargo bench -p hitdex-benches --bench kernels`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hitdex_engine::dna::{Allele, Genotype, ESS_COUNT};
use hitdex_engine::index::keys;
use hitdex_engine::kernels::available_levels;
use hitdex_engine::kernels::dna::{CoreQuery, CORE_BYTES};

/// Deterministic pseudo-random cores with realistic allele positions.
fn cores(n: usize) -> Vec<u8> {
    let mut s = 0x1234_5678_9abc_def0u64;
    let mut out = Vec::with_capacity(n * CORE_BYTES);
    for _ in 0..n {
        for _ in 0..ESS_COUNT {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let a = 28 + (s % 40) as u8;
            let b = 28 + ((s >> 16) % 40) as u8;
            let g = Genotype::new(Allele::from_code(a), Allele::from_code(b));
            out.extend_from_slice(&g.codes());
        }
    }
    out
}

fn query(core: &[u8]) -> CoreQuery {
    let loci: Vec<Genotype> = core.chunks_exact(2).map(|c| Genotype::from_codes([c[0], c[1]])).collect();
    CoreQuery::new(&loci, true)
}

fn compare(c: &mut Criterion) {
    let data = cores(2);
    let q = query(&data[..CORE_BYTES]);
    let core: &[u8; CORE_BYTES] = data[CORE_BYTES..].try_into().unwrap();
    let mut g = c.benchmark_group("dna_compare");
    for level in available_levels() {
        g.bench_function(format!("{level:?}"), |b| b.iter(|| q.compare(level, black_box(core))));
    }
    g.finish();
}

fn scan(c: &mut Criterion) {
    let n = 100_000;
    let data = cores(n);
    let q = query(&data[..CORE_BYTES]);
    let mut g = c.benchmark_group("dna_scan");
    g.throughput(Throughput::Elements(n as u64));
    for level in available_levels() {
        g.bench_with_input(BenchmarkId::new(format!("{level:?}"), n), &data, |b, data| {
            b.iter(|| {
                let mut hits = 0usize;
                q.scan(level, black_box(data), 1, 6, |_, _| hits += 1);
                hits
            })
        });
    }
    g.finish();
}

fn key(c: &mut Criterion) {
    let data = cores(1);
    let parts: Vec<u16> = (0..4).map(|l| keys::stored_part(Genotype::from_codes([data[2 * l], data[2 * l + 1]]))).collect();
    c.bench_function("candidate_key", |b| b.iter(|| keys::key(0, black_box(&parts).iter().copied())));
}

criterion_group!(benches, compare, scan, key);
criterion_main!(benches);
