//! Store limits from the plan's policy, remembering which limit refused a request so a trap
//! that follows can be reported as what it is.

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// The plan's limits plus a record of the first refusal.
pub(crate) struct Limits {
    inner: StoreLimits,
    /// What was refused first, e.g. "memory limit of 1048576 bytes".
    pub hit: Option<String>,
    memory: Option<u64>,
    tables: Option<u64>,
}

impl Limits {
    pub fn new(policy: &compose_model::plan::Policy) -> Limits {
        let mut b = StoreLimitsBuilder::new();
        if let Some(m) = policy.memory {
            b = b.memory_size(usize::try_from(m).unwrap_or(usize::MAX));
        }
        if let Some(t) = policy.tables {
            b = b.table_elements(usize::try_from(t).unwrap_or(usize::MAX));
        }
        if let Some(i) = policy.instances {
            let i = usize::try_from(i).unwrap_or(usize::MAX);
            b = b
                .instances(i)
                .memories(i.saturating_mul(4))
                .tables(i.saturating_mul(4));
        }
        Limits {
            inner: b.build(),
            hit: None,
            memory: policy.memory,
            tables: policy.tables,
        }
    }
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = self.inner.memory_growing(current, desired, maximum)?;
        if !ok && self.hit.is_none() {
            self.hit = Some(match self.memory {
                Some(m) => format!(
                    "memory limit of {m} bytes (`policy.memory`): the guest asked for {desired} bytes"
                ),
                None => format!("memory maximum: the guest asked for {desired} bytes"),
            });
        }
        Ok(ok)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = self.inner.table_growing(current, desired, maximum)?;
        if !ok && self.hit.is_none() {
            self.hit = Some(match self.tables {
                Some(t) => format!(
                    "table limit of {t} elements (`policy.tables`): the guest asked for {desired}"
                ),
                None => format!("table maximum: the guest asked for {desired} elements"),
            });
        }
        Ok(ok)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}
