//! Whole-tree snapshots. JSON with nodes in path order, so equal trees give equal
//! bytes on every replica; a snapshot is checked before it replaces state.

use super::DataTree;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot does not decode: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("snapshot is inconsistent: {0}")]
    Inconsistent(String),
}

impl DataTree {
    /// The whole tree, sessions and last zxid.
    pub fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a tree always serializes")
    }

    pub fn restore(bytes: &[u8]) -> Result<DataTree, SnapshotError> {
        let tree: DataTree = serde_json::from_slice(bytes)?;
        tree.check_invariants()
            .map_err(SnapshotError::Inconsistent)?;
        Ok(tree)
    }
}
