//! Objects by resource, namespace and name; one resourceVersion counter; a
//! bounded event history for watches (410 Gone beyond it); watch fan-out.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::broadcast;

/// `(storage key, namespace, name)`; cluster-scoped objects have namespace "".
pub type Key = (String, String, String);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One change, as watches replay it.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub kind: EventType,
    pub key: Key,
    pub object: Arc<Value>,
    /// The object before the change (for selector transitions).
    pub old: Option<Arc<Value>>,
}

/// What a mutation decided.
pub enum Change {
    /// Store this object (create or replace).
    Put(Value),
    /// Remove the object; the value is its final state.
    Remove(Value),
    /// Nothing to store; return this value.
    Keep(Value),
}

struct State {
    objects: BTreeMap<Key, Arc<Value>>,
    rv: u64,
    history: VecDeque<Arc<Event>>,
    /// Events with `rv <= compacted` are no longer in the history.
    compacted: u64,
}

pub struct Store {
    state: Mutex<State>,
    events: broadcast::Sender<Arc<Event>>,
    history_limit: usize,
}

/// A watch's start: the events to replay, then the live receiver.
pub struct Subscription {
    pub replay: Vec<Arc<Event>>,
    pub live: broadcast::Receiver<Arc<Event>>,
}

/// The requested resourceVersion is older than the retained history.
#[derive(Debug)]
pub struct TooOld {
    pub requested: u64,
    pub oldest: u64,
}

impl Store {
    pub fn new(history_limit: usize) -> Store {
        let (events, _) = broadcast::channel(4096);
        Store {
            state: Mutex::new(State {
                objects: BTreeMap::new(),
                rv: 1,
                history: VecDeque::new(),
                compacted: 1,
            }),
            events,
            history_limit: history_limit.max(1),
        }
    }

    /// A panic in one request's mutation must not take the store down for
    /// every later request: a poisoned lock is taken over as it is (every
    /// mutation is applied whole or not at all).
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    pub fn get(&self, key: &Key) -> Option<Arc<Value>> {
        self.lock().objects.get(key).cloned()
    }

    /// Objects of one storage key (in one namespace, or all when `None`),
    /// sorted by namespace and name, with the list's resourceVersion.
    pub fn list(&self, storage: &str, namespace: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let state = self.lock();
        let items = state
            .objects
            .range((storage.to_owned(), String::new(), String::new())..)
            .take_while(|((s, _, _), _)| s == storage)
            .filter(|((_, ns, _), _)| namespace.is_none_or(|n| n == ns))
            .map(|(_, v)| Arc::clone(v))
            .collect();
        (items, state.rv)
    }

    /// Atomically reads the object at `key`, lets `f` decide, and applies the
    /// decision (unless `dry_run`): a stored object gets the next
    /// resourceVersion and watchers get the event.
    pub fn mutate<E>(
        &self,
        key: &Key,
        dry_run: bool,
        f: impl FnOnce(Option<&Value>) -> Result<Change, E>,
    ) -> Result<Value, E> {
        let mut state = self.lock();
        let old = state.objects.get(key).cloned();
        let change = f(old.as_deref())?;
        if dry_run {
            return Ok(match change {
                Change::Put(v) | Change::Remove(v) | Change::Keep(v) => v,
            });
        }
        let (kind, mut object, remove) = match change {
            Change::Keep(v) => return Ok(v),
            Change::Put(v) => (
                if old.is_some() {
                    EventType::Modified
                } else {
                    EventType::Added
                },
                v,
                false,
            ),
            Change::Remove(v) => (EventType::Deleted, v, true),
        };
        state.rv += 1;
        let rv = state.rv;
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let object = Arc::new(object);
        if remove {
            state.objects.remove(key);
        } else {
            state.objects.insert(key.clone(), Arc::clone(&object));
        }
        let event = Arc::new(Event {
            rv,
            kind,
            key: key.clone(),
            object: Arc::clone(&object),
            old,
        });
        state.history.push_back(Arc::clone(&event));
        while state.history.len() > self.history_limit {
            if let Some(e) = state.history.pop_front() {
                state.compacted = e.rv;
            }
        }
        // No receivers is fine.
        let _ = self.events.send(event);
        Ok(Arc::unwrap_or_clone(object))
    }

    /// Starts a watch after resourceVersion `from` (events with a greater rv).
    pub fn subscribe(&self, from: u64) -> Result<Subscription, TooOld> {
        let state = self.lock();
        if from < state.compacted {
            return Err(TooOld {
                requested: from,
                oldest: state.compacted,
            });
        }
        let replay = state
            .history
            .iter()
            .filter(|e| e.rv > from)
            .cloned()
            .collect();
        Ok(Subscription {
            replay,
            live: self.events.subscribe(),
        })
    }

    /// Drops the whole event history (as etcd compaction does) after moving
    /// the resourceVersion on (as a real cluster's background writes do):
    /// watches from any resourceVersion seen so far get 410 Gone.
    pub fn compact(&self) {
        let mut state = self.lock();
        state.rv += 1;
        state.history.clear();
        state.compacted = state.rv;
    }

    /// The oldest resourceVersion still servable (for continue tokens).
    pub fn compacted(&self) -> u64 {
        self.lock().compacted
    }
}

impl Store {
    /// The current objects of one storage key and a live receiver from
    /// exactly that point (a watch without resourceVersion).
    pub fn snapshot_and_subscribe(
        &self,
        storage: &str,
        namespace: Option<&str>,
    ) -> (Vec<Arc<Value>>, u64, Subscription) {
        let state = self.lock();
        let items = state
            .objects
            .range((storage.to_owned(), String::new(), String::new())..)
            .take_while(|((s, _, _), _)| s == storage)
            .filter(|((_, ns, _), _)| namespace.is_none_or(|n| n == ns))
            .map(|(_, v)| Arc::clone(v))
            .collect();
        let sub = Subscription {
            replay: Vec::new(),
            live: self.events.subscribe(),
        };
        (items, state.rv, sub)
    }

    /// Every stored object with its key.
    pub fn all(&self) -> Vec<(Key, Arc<Value>)> {
        self.lock()
            .objects
            .iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn put(store: &Store, name: &str) -> Value {
        let key = (
            "/configmaps".to_owned(),
            "default".to_owned(),
            name.to_owned(),
        );
        store
            .mutate(&key, false, |_| {
                Ok::<_, ()>(Change::Put(json!({"metadata": {"name": name}})))
            })
            .expect("put")
    }

    #[test]
    fn resource_versions_grow_and_history_is_bounded() {
        let store = Store::new(3);
        let first = put(&store, "a");
        assert_eq!(first["metadata"]["resourceVersion"], "2");
        for n in ["b", "c", "d", "e"] {
            put(&store, n);
        }
        assert_eq!(store.current_rv(), 6);
        // Only the last 3 events (rv 4..=6) are kept: resuming after rv 3
        // works, after rv 2 is too old.
        let sub = store.subscribe(3).expect("within history");
        let rvs: Vec<u64> = sub.replay.iter().map(|e| e.rv).collect();
        assert_eq!(rvs, [4, 5, 6]);
        assert!(store.subscribe(2).is_err());
        // Dry runs store nothing and emit nothing.
        let key = (
            "/configmaps".to_owned(),
            "default".to_owned(),
            "dry".to_owned(),
        );
        store
            .mutate(&key, true, |_| Ok::<_, ()>(Change::Put(json!({}))))
            .expect("dry run");
        assert!(store.get(&key).is_none());
        assert_eq!(store.current_rv(), 6);
    }

    #[test]
    fn compaction_expires_every_resource_version_handed_out() {
        let store = Store::new(100);
        put(&store, "a");
        let rv = store.current_rv();
        store.compact();
        assert!(store.subscribe(rv).is_err());
        assert!(store.subscribe(store.current_rv()).is_ok());
    }
}
