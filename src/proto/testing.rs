//! What the decoders' random tests share: a xorshift generator, and messages that are
//! either random bytes (half from the protocol's own alphabet) or a valid message of
//! the protocol with a few edits (a byte changed, removed or inserted, or the rest cut).

/// xorshift64: the same sequence for the same seed, no crate needed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The `i`th message of a run: even ones random, odd ones an edited seed.
pub fn message(rng: &mut Rng, i: usize, alphabet: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    if i % 2 == 0 {
        let n = rng.below(64);
        return (0..n)
            .map(|_| {
                if rng.below(2) == 0 {
                    alphabet[rng.below(alphabet.len())]
                } else {
                    rng.next() as u8
                }
            })
            .collect();
    }
    let mut m = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        match rng.below(4) {
            0 if !m.is_empty() => {
                let at = rng.below(m.len());
                m[at] = alphabet[rng.below(alphabet.len())];
            }
            1 if !m.is_empty() => {
                m.remove(rng.below(m.len()));
            }
            2 => {
                let at = rng.below(m.len() + 1);
                m.insert(at, rng.next() as u8);
            }
            _ => {
                let at = rng.below(m.len() + 1);
                m.truncate(at);
            }
        }
    }
    m
}
