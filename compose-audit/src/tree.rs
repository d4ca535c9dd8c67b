//! The Merkle tree over a log's records (RFC 6962 hashing, `tlog_tiles`), kept in memory as
//! the tree's stored hashes, and its inclusion and consistency proofs.

use tlog_tiles::{Hash, HashReader, RecordProof, TreeProof};

/// The stored hashes of a tree of `size` records.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    stored: Vec<Hash>,
    size: u64,
}

impl HashReader for Tree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                self.stored
                    .get(i as usize)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

impl Tree {
    /// The number of records.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds a record (its canonical bytes).
    pub fn push(&mut self, record: &[u8]) {
        let new = tlog_tiles::stored_hashes(self.size, record, self)
            .expect("the hashes of earlier records are stored");
        self.stored.extend(new);
        self.size += 1;
    }

    /// The tree hash of the first `n` records (`n` at most the size).
    pub fn hash(&self, n: u64) -> Hash {
        tlog_tiles::tree_hash(n, self).expect("n is within the tree")
    }

    /// The hash of record `n`'s leaf.
    pub fn leaf(&self, n: u64) -> Hash {
        self.stored[tlog_tiles::stored_hash_index(0, n) as usize]
    }

    /// A proof that record `n` is in the tree of the first `size` records.
    pub fn prove_record(&self, size: u64, n: u64) -> RecordProof {
        tlog_tiles::prove_record(size, n, self).expect("n is below size, within the tree")
    }

    /// A proof that the tree of the first `size` records extends that of the first `old`.
    pub fn prove_tree(&self, size: u64, old: u64) -> TreeProof {
        tlog_tiles::prove_tree(size, old, self).expect("old is at most size, within the tree")
    }
}
