//! The HTTP connections open now, and which of them wait on their client.
//!
//! A connection waiting for a request head (a new one, one between keep-alive requests, or one
//! whose client trickles its head) holds nothing but its slot, so when the table is full, or
//! the process is out of descriptors, the one that has waited longest is closed to make room;
//! but not one with bytes already waiting to be read (a request that has just arrived, which
//! its thread is about to take).
//! Only connections being answered hold their slots firmly, each for at most the write
//! deadline; the excess beyond those gets a 503.

use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// The connection table, shared by the acceptor and every connection thread.
#[derive(Debug)]
pub struct Table {
    /// Connections counted against the cap (those evicted but not yet gone are not).
    entries: Mutex<Vec<Entry>>,
    /// The most connections counted at once: `--http-max-connections`.
    cap: usize,
}

#[derive(Debug)]
struct Entry {
    /// The connection's number, unique for the server's life.
    id: u64,
    /// The socket, to shut it down on eviction or at shutdown; the connection thread holds the
    /// other reference and closes it when it ends.
    stream: Arc<TcpStream>,
    /// Since when it has been waiting on its client, or `None` while a response is made.
    waiting_since: Option<Instant>,
    /// Shut down to make room; it no longer counts against the cap.
    evicted: bool,
}

/// What became of a connection offered to the table.
#[derive(Debug)]
pub enum Admission {
    /// It has a slot, held until the [`Slot`] is dropped; `evicted` is whether an idle
    /// connection was closed to make room.
    Admitted {
        /// The slot.
        slot: Slot,
        /// An idle connection was closed for it.
        evicted: bool,
    },
    /// Every slot is busy answering a request.
    Full,
}

impl Table {
    /// An empty table of at most `cap` connections.
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Table {
            entries: Mutex::new(Vec::new()),
            cap: cap.max(1),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives `stream` a slot (as a waiting connection), closing the longest-waiting connection
    /// when the table is full.
    pub fn admit(self: &Arc<Self>, id: u64, stream: Arc<TcpStream>) -> Admission {
        let mut entries = self.lock();
        let counted = entries.iter().filter(|e| !e.evicted).count();
        let evicted = counted >= self.cap;
        if evicted && !evict_oldest(&mut entries) {
            return Admission::Full;
        }
        entries.push(Entry {
            id,
            stream,
            waiting_since: Some(Instant::now()),
            evicted: false,
        });
        Admission::Admitted {
            slot: Slot {
                table: self.clone(),
                id,
            },
            evicted,
        }
    }

    /// Closes the connection that has waited longest on its client, to free its descriptor;
    /// whether there was one.
    pub fn evict_one(&self) -> bool {
        evict_oldest(&mut self.lock())
    }

    /// Connections open now, evicted ones not yet gone included.
    pub fn open(&self) -> usize {
        self.lock().len()
    }

    /// Shuts every connection down, so that their threads end.
    pub fn close_all(&self) {
        for entry in self.lock().iter_mut() {
            entry.evicted = true;
            let _ = entry.stream.shutdown(Shutdown::Both);
        }
    }
}

fn evict_oldest(entries: &mut [Entry]) -> bool {
    let oldest = entries
        .iter_mut()
        .filter(|e| !e.evicted && !has_unread(&e.stream))
        .filter_map(|e| Some((e.waiting_since?, e)))
        .min_by_key(|(since, _)| *since);
    match oldest {
        Some((_, entry)) => {
            entry.evicted = true;
            let _ = entry.stream.shutdown(Shutdown::Both);
            true
        }
        None => false,
    }
}

/// Whether bytes from the client wait in the socket, unread: a look that neither blocks nor
/// takes them (the socket's own mode is the connection thread's to set).
fn has_unread(stream: &TcpStream) -> bool {
    use rustix::net::{RecvFlags, recv};
    let mut byte = [0u8; 1];
    matches!(
        recv(stream, &mut byte[..], RecvFlags::PEEK | RecvFlags::DONTWAIT),
        Ok((n, _)) if n > 0
    )
}

/// A connection's place in the [`Table`], given up when dropped.
#[derive(Debug)]
pub struct Slot {
    table: Arc<Table>,
    id: u64,
}

impl Slot {
    fn update(&self, f: impl FnOnce(&mut Entry) -> bool) -> bool {
        let mut entries = self.table.lock();
        entries.iter_mut().find(|e| e.id == self.id).is_some_and(f)
    }

    /// The connection waits on its client from now on, and may be evicted. A connection
    /// already waiting keeps its time: a client trickling its head byte by byte has waited
    /// since its first byte was due, not since its last.
    pub fn waiting(&self) {
        self.update(|e| {
            e.waiting_since.get_or_insert_with(Instant::now);
            true
        });
    }

    /// The connection has a request to answer and may no longer be evicted; `false` if it
    /// was evicted already (its socket is shut down, there is no one to answer).
    pub fn busy(&self) -> bool {
        self.update(|e| {
            e.waiting_since = None;
            !e.evicted
        })
    }

    /// Whether the connection was evicted.
    pub fn evicted(&self) -> bool {
        self.update(|e| e.evicted)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.table.lock().retain(|e| e.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    fn pair(listener: &TcpListener) -> (TcpStream, Arc<TcpStream>) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, Arc::new(server))
    }

    fn admitted(a: Admission) -> (Slot, bool) {
        match a {
            Admission::Admitted { slot, evicted } => (slot, evicted),
            Admission::Full => panic!("full"),
        }
    }

    #[test]
    fn a_full_table_evicts_the_longest_waiting_connection_and_never_a_busy_one() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let table = Table::new(2);
        let (_c1, s1) = pair(&listener);
        let (_c2, s2) = pair(&listener);
        let (_c3, s3) = pair(&listener);
        let (_c4, s4) = pair(&listener);
        let (mut c5, s5) = pair(&listener);
        let (busy, evicted) = admitted(table.admit(1, s1));
        assert!(!evicted);
        assert!(busy.busy());
        let (idle, evicted) = admitted(table.admit(2, s2));
        assert!(!evicted);
        // Full: the idle one makes room, the busy one stays.
        let (third, evicted) = admitted(table.admit(3, s3));
        assert!(evicted);
        assert!(idle.evicted() && !idle.busy());
        assert!(!busy.evicted());
        assert!(third.busy());
        // Now both counted connections are busy: the next is refused.
        assert!(matches!(table.admit(4, s4), Admission::Full));
        assert_eq!(table.open(), 3);
        drop(idle);
        drop(busy);
        assert_eq!(table.open(), 1);
        // A connection whose request has arrived is not idle, however long it waited.
        let (fifth, _) = admitted(table.admit(5, s5.clone()));
        third.waiting();
        fifth.waiting();
        c5.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        while !has_unread(&s5) {
            std::thread::yield_now();
        }
        assert!(table.evict_one());
        assert!(third.evicted() && !fifth.evicted());
        assert!(!table.evict_one());
    }

    #[test]
    fn a_connection_trickling_its_head_keeps_the_time_it_began_waiting() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let table = Table::new(8);
        let (_c1, s1) = pair(&listener);
        let (_c2, s2) = pair(&listener);
        let (trickler, _) = admitted(table.admit(1, s1));
        let (newer, _) = admitted(table.admit(2, s2));
        // Each byte the trickler sends sends its thread back to waiting: still the oldest.
        trickler.waiting();
        newer.waiting();
        trickler.waiting();
        assert!(table.evict_one());
        assert!(trickler.evicted() && !newer.evicted());
    }
}
