#include "maps/lru.h"

#include <algorithm>
#include <cstddef>

namespace userbpf {
namespace {

// The kernel's tuning: a CPU refills its local FREE list with up to 128 nodes
// (fewer for small maps, see populate), and a rotation or shrink looks at
// most at that many nodes. Per-CPU lists shrink 4 nodes at a time.
constexpr uint32_t kLocalFreeTarget = 128;
constexpr uint32_t kLocalNrScans = kLocalFreeTarget;
constexpr uint32_t kPercpuFreeTarget = 4;
constexpr uint32_t kPercpuNrScans = kPercpuFreeTarget;

bool is_local_type(uint8_t type) { return type >= kLruLocalOffset; }

// ---- circular doubly linked lists of offsets

struct Lists {
  uint8_t *base;

  LruLink &at(uint64_t off) const { return *reinterpret_cast<LruLink *>(base + off); }
  uint64_t off(const LruLink &link) const {
    return static_cast<uint64_t>(reinterpret_cast<const uint8_t *>(&link) - base);
  }
  LruNode &node(uint64_t off) const { return lru_node_at(base, off); }

  void init(LruLink &head) const { head.next = head.prev = off(head); }
  bool empty(const LruLink &head) const { return head.next == off(head); }

  // Insert entry between prev and next.
  void insert(uint64_t entry, uint64_t prev, uint64_t next) const {
    at(next).prev = entry;
    at(entry).next = next;
    at(entry).prev = prev;
    at(prev).next = entry;
  }
  // At the front (the kernel's list_add).
  void add(uint64_t entry, LruLink &head) const { insert(entry, off(head), head.next); }
  void del(uint64_t entry) const {
    LruLink &e = at(entry);
    at(e.prev).next = e.next;
    at(e.next).prev = e.prev;
  }
  void move(uint64_t entry, LruLink &head) const {
    del(entry);
    add(entry, head);
  }
};

struct Lru {
  uint8_t *base;
  BpfLru &lru;
  Lists ls{base};

  LruList &list(uint32_t index) const {
    return reinterpret_cast<LruList *>(base + lru.lists_offset)[index];
  }
  LruLocalList &local(uint32_t cpu) const {
    return reinterpret_cast<LruLocalList *>(base + lru.locals_offset)[cpu];
  }
  std::atomic<uint32_t> &hash_of(uint64_t node) const {
    return *reinterpret_cast<std::atomic<uint32_t> *>(base + node + lru.hash_offset);
  }

  static bool is_ref(const LruNode &n) { return n.ref.load(std::memory_order_relaxed) != 0; }
  static void clear_ref(LruNode &n) { n.ref.store(0, std::memory_order_relaxed); }
  static bool is_pending_free(const LruNode &n) { return n.pending_free.load(std::memory_order_relaxed) != 0; }

  static void count_inc(LruList &l, uint8_t type) {
    if (type < kLruNrCounts) l.counts[type]++;
  }
  static void count_dec(LruList &l, uint8_t type) {
    if (type < kLruNrCounts) l.counts[type]--;
  }

  // The rotation cursor must not point at a node that leaves the list.
  void step_rotation_cursor_off(LruList &l, uint64_t node) const {
    if (l.next_inactive_rotation == node) l.next_inactive_rotation = ls.at(node).prev;
  }

  // A node of l goes to a free list (l's own, or a CPU's local one).
  void move_to_free(LruList &l, uint64_t node, LruLink &free_list, uint8_t free_type) const {
    LruNode &n = ls.node(node);
    uint8_t type = n.type.load(std::memory_order_relaxed);
    if (is_local_type(type)) return; // not on l: the kernel warns and skips
    step_rotation_cursor_off(l, node);
    count_dec(l, type);
    n.type.store(free_type, std::memory_order_relaxed);
    n.pending_free.store(0, std::memory_order_relaxed);
    ls.move(node, free_list);
  }

  // A node of a local list enters l.
  void move_in(LruList &l, uint64_t node, uint8_t type) const {
    LruNode &n = ls.node(node);
    if (!is_local_type(n.type.load(std::memory_order_relaxed)) || is_local_type(type)) return;
    count_inc(l, type);
    n.type.store(type, std::memory_order_relaxed);
    clear_ref(n);
    if (type == kLruFree) n.pending_free.store(0, std::memory_order_relaxed);
    ls.move(node, l.lists[type]);
  }

  // Between or within l's lists (to the front of the target list).
  void move(LruList &l, uint64_t node, uint8_t type) const {
    LruNode &n = ls.node(node);
    uint8_t old = n.type.load(std::memory_order_relaxed);
    if (is_local_type(old) || is_local_type(type)) return;
    if (old != type) {
      count_dec(l, old);
      count_inc(l, type);
      n.type.store(type, std::memory_order_relaxed);
    }
    clear_ref(n);
    step_rotation_cursor_off(l, node);
    ls.move(node, l.lists[type]);
  }

  bool inactive_low(const LruList &l) const { return l.counts[kLruInactive] < l.counts[kLruActive]; }

  // From the tail of ACTIVE: referenced nodes go back to the front of ACTIVE
  // (one more chance), the others to INACTIVE. At most nr_scans nodes.
  void rotate_active(LruList &l) const {
    LruLink &active = l.lists[kLruActive];
    const uint64_t head = ls.off(active);
    const uint64_t first = active.next;
    uint32_t scanned = 0;
    for (uint64_t node = active.prev, prev; node != head; node = prev) {
      prev = ls.at(node).prev;
      move(l, node, is_ref(ls.node(node)) ? kLruActive : kLruInactive);
      if (++scanned == lru.nr_scans || node == first) break;
    }
  }

  // From the rotation cursor towards the front of INACTIVE: referenced nodes
  // move to ACTIVE, the others stay for the next shrink. At most nr_scans.
  void rotate_inactive(LruList &l) const {
    LruLink &inactive = l.lists[kLruInactive];
    const uint64_t head = ls.off(inactive);
    if (ls.empty(inactive)) return;

    uint64_t last = ls.at(l.next_inactive_rotation).next;
    if (last == head) last = ls.at(last).next;

    uint64_t cur = l.next_inactive_rotation;
    uint64_t next = head;
    uint32_t scanned = 0;
    while (scanned < lru.nr_scans) {
      if (cur == head) {
        cur = ls.at(cur).prev;
        continue;
      }
      next = ls.at(cur).prev;
      if (is_ref(ls.node(cur))) move(l, cur, kLruActive);
      if (cur == last) break;
      cur = next;
      scanned++;
    }
    l.next_inactive_rotation = next;
  }

  // From the tail of INACTIVE: referenced nodes go to ACTIVE, the others are
  // evicted from the hash table onto free_list, until tgt_nshrink are.
  uint32_t shrink_inactive(LruList &l, uint32_t tgt_nshrink, LruLink &free_list, uint8_t free_type,
                           LruDeleteFn del, void *ctx) const {
    LruLink &inactive = l.lists[kLruInactive];
    const uint64_t head = ls.off(inactive);
    uint32_t nshrinked = 0, scanned = 0;
    for (uint64_t node = inactive.prev, prev; node != head; node = prev) {
      prev = ls.at(node).prev;
      LruNode &n = ls.node(node);
      if (is_ref(n) && !is_pending_free(n)) {
        move(l, node, kLruActive);
      } else if (is_pending_free(n) || del(ctx, node)) {
        move_to_free(l, node, free_list, free_type);
        if (++nshrinked == tgt_nshrink) break;
      }
      if (++scanned == lru.nr_scans) break;
    }
    return nshrinked;
  }

  void rotate(LruList &l) const {
    if (inactive_low(l)) rotate_active(l);
    rotate_inactive(l);
  }

  // Shrink INACTIVE; when nothing could be evicted that way, evict one node
  // whatever its ref bit, from INACTIVE if it has any, else from ACTIVE.
  uint32_t shrink(LruList &l, uint32_t tgt_nshrink, LruLink &free_list, uint8_t free_type, LruDeleteFn del,
                  void *ctx) const {
    if (uint32_t n = shrink_inactive(l, tgt_nshrink, free_list, free_type, del, ctx)) return n;
    LruLink &force = ls.empty(l.lists[kLruInactive]) ? l.lists[kLruActive] : l.lists[kLruInactive];
    const uint64_t head = ls.off(force);
    for (uint64_t node = force.prev, prev; node != head; node = prev) {
      prev = ls.at(node).prev;
      if (is_pending_free(ls.node(node)) || del(ctx, node)) {
        move_to_free(l, node, free_list, free_type);
        return 1;
      }
    }
    return 0;
  }

  // A CPU's PENDING nodes join the global lists (with l's lock held).
  void local_flush(LruList &l, LruLocalList &loc) const {
    const uint64_t head = ls.off(loc.pending_list);
    for (uint64_t node = loc.pending_list.prev, prev; node != head; node = prev) {
      prev = ls.at(node).prev;
      LruNode &n = ls.node(node);
      if (is_pending_free(n)) move_in(l, node, kLruFree);
      else move_in(l, node, is_ref(n) ? kLruActive : kLruInactive);
    }
  }

  void list_push_free(LruList &l, uint64_t node) const {
    LruNode &n = ls.node(node);
    if (is_local_type(n.type.load(std::memory_order_relaxed))) return;
    if (res_spin_lock(l.lock) != 0) {
      // Cannot lock (a signal handler interrupted this list's holder, or a
      // stuck holder): the next shrink or flush frees it.
      n.pending_free.store(1, std::memory_order_relaxed);
      return;
    }
    move(l, node, kLruFree);
    res_spin_unlock(l.lock);
  }

  // Refill loc's FREE list from the global lists (with loc's lock held).
  void pop_free_to_local(LruLocalList &loc, LruDeleteFn del, void *ctx) const {
    LruList &l = list(0);
    if (res_spin_lock(l.lock) != 0) return;
    local_flush(l, loc);
    rotate(l);
    uint32_t nfree = 0;
    LruLink &global_free = l.lists[kLruFree];
    const uint64_t head = ls.off(global_free);
    for (uint64_t node = global_free.next, next; node != head; node = next) {
      next = ls.at(node).next;
      move_to_free(l, node, loc.free_list, kLruLocalFree);
      if (++nfree == lru.target_free) break;
    }
    if (nfree < lru.target_free) shrink(l, lru.target_free - nfree, loc.free_list, kLruLocalFree, del, ctx);
    res_spin_unlock(l.lock);
  }

  void local_add_pending(LruLocalList &loc, uint32_t cpu, uint64_t node, uint32_t hash) const {
    LruNode &n = ls.node(node);
    hash_of(node).store(hash, std::memory_order_relaxed);
    n.cpu.store(static_cast<uint16_t>(cpu), std::memory_order_relaxed);
    n.type.store(kLruLocalPending, std::memory_order_relaxed);
    n.pending_free.store(0, std::memory_order_relaxed);
    clear_ref(n);
    ls.add(node, loc.pending_list);
  }

  uint64_t local_pop_free(LruLocalList &loc) const {
    if (ls.empty(loc.free_list)) return 0;
    uint64_t node = loc.free_list.next;
    ls.del(node);
    return node;
  }

  // Steal the oldest PENDING node of loc, preferring unreferenced ones.
  uint64_t local_pop_pending(LruLocalList &loc, LruDeleteFn del, void *ctx) const {
    const uint64_t head = ls.off(loc.pending_list);
    for (int force = 0; force < 2; ++force) {
      for (uint64_t node = loc.pending_list.prev; node != head; node = ls.at(node).prev) {
        LruNode &n = ls.node(node);
        if ((!is_ref(n) || force) && (is_pending_free(n) || del(ctx, node))) {
          ls.del(node);
          return node;
        }
      }
    }
    return 0;
  }

  uint64_t percpu_pop_free(uint32_t hash, uint32_t cpu, LruDeleteFn del, void *ctx) const {
    LruList &l = list(cpu);
    if (res_spin_lock(l.lock) != 0) return 0;
    rotate(l);
    LruLink &free_list = l.lists[kLruFree];
    if (ls.empty(free_list)) shrink(l, kPercpuFreeTarget, free_list, kLruFree, del, ctx);
    uint64_t node = 0;
    if (!ls.empty(free_list)) {
      node = free_list.next;
      hash_of(node).store(hash, std::memory_order_relaxed);
      clear_ref(ls.node(node));
      move(l, node, kLruInactive);
    }
    res_spin_unlock(l.lock);
    return node;
  }

  uint64_t common_pop_free(uint32_t hash, uint32_t cpu, LruDeleteFn del, void *ctx) const {
    LruLocalList &loc = local(cpu);
    uint64_t node = 0;
    if (res_spin_lock(loc.lock) != 0) return 0;
    node = local_pop_free(loc);
    if (!node) {
      pop_free_to_local(loc, del, ctx);
      node = local_pop_free(loc);
    }
    if (node) local_add_pending(loc, cpu, node, hash);
    res_spin_unlock(loc.lock);
    if (node) return node;

    // Nothing free locally nor globally: steal from the CPUs' local FREE or
    // PENDING lists, round robin from where this CPU stopped last time.
    const uint32_t first_steal = loc.next_steal.load(std::memory_order_relaxed) % lru.ncpus;
    uint32_t steal = first_steal;
    do {
      LruLocalList &victim = local(steal);
      if (res_spin_lock(victim.lock) == 0) {
        node = local_pop_free(victim);
        if (!node) node = local_pop_pending(victim, del, ctx);
        res_spin_unlock(victim.lock);
      }
      steal = (steal + 1) % lru.ncpus;
    } while (!node && steal != first_steal);
    loc.next_steal.store(steal, std::memory_order_relaxed);
    if (!node) return 0;

    if (res_spin_lock(loc.lock) != 0) {
      // Only a stuck holder gets here (this thread holds no lock now). The
      // node is on no list: it stays out of use rather than corrupt one.
      ls.node(node).type.store(kLruLocalFree, std::memory_order_relaxed);
      return 0;
    }
    local_add_pending(loc, cpu, node, hash);
    res_spin_unlock(loc.lock);
    return node;
  }

  void common_push_free(uint64_t node) const {
    LruNode &n = ls.node(node);
    uint8_t type = n.type.load(std::memory_order_relaxed);
    if (type == kLruFree || type == kLruLocalFree) return; // double free: the kernel warns
    if (type == kLruLocalPending) {
      LruLocalList &loc = local(n.cpu.load(std::memory_order_relaxed));
      if (res_spin_lock(loc.lock) != 0) {
        n.pending_free.store(1, std::memory_order_relaxed);
        return;
      }
      // Still pending on that CPU (a flush may have moved it meanwhile)?
      if (n.type.load(std::memory_order_relaxed) == kLruLocalPending) {
        n.type.store(kLruLocalFree, std::memory_order_relaxed);
        clear_ref(n);
        ls.move(node, loc.free_list);
        res_spin_unlock(loc.lock);
        return;
      }
      res_spin_unlock(loc.lock);
    }
    list_push_free(list(0), node);
  }

  void percpu_push_free(uint64_t node) const {
    LruNode &n = ls.node(node);
    LruList &l = list(n.cpu.load(std::memory_order_relaxed));
    if (res_spin_lock(l.lock) != 0) {
      n.pending_free.store(1, std::memory_order_relaxed);
      return;
    }
    move(l, node, kLruFree);
    res_spin_unlock(l.lock);
  }
};

void init_list(const Lists &ls, LruList &l) {
  for (auto &head : l.lists) ls.init(head);
  for (auto &count : l.counts) count = 0;
  l.next_inactive_rotation = ls.off(l.lists[kLruInactive]);
  res_spin_lock_init(l.lock);
}

void reset_free_node(LruNode &n) {
  n.type.store(kLruFree, std::memory_order_relaxed);
  n.pending_free.store(0, std::memory_order_relaxed);
  n.ref.store(0, std::memory_order_relaxed);
}

} // namespace

uint64_t bpf_lru_area_size(bool percpu, uint32_t ncpus) {
  if (percpu) return uint64_t{ncpus} * sizeof(LruList);
  return sizeof(LruList) + uint64_t{ncpus} * sizeof(LruLocalList);
}

void bpf_lru_init(uint8_t *base, BpfLru &lru, uint64_t area_offset, bool percpu, uint32_t ncpus,
                  int32_t hash_offset) {
  Lists ls{base};
  lru.ncpus = ncpus;
  lru.percpu = percpu;
  lru.hash_offset = hash_offset;
  lru.lists_offset = area_offset;
  lru.target_free = kLocalFreeTarget;
  Lru view{base, lru};
  if (percpu) {
    lru.locals_offset = 0;
    lru.nr_scans = kPercpuNrScans;
    for (uint32_t cpu = 0; cpu < ncpus; ++cpu) init_list(ls, view.list(cpu));
  } else {
    lru.locals_offset = area_offset + sizeof(LruList);
    lru.nr_scans = kLocalNrScans;
    init_list(ls, view.list(0));
    for (uint32_t cpu = 0; cpu < ncpus; ++cpu) {
      LruLocalList &loc = view.local(cpu);
      ls.init(loc.free_list);
      ls.init(loc.pending_list);
      loc.next_steal.store(cpu, std::memory_order_relaxed);
      res_spin_lock_init(loc.lock);
    }
  }
}

void bpf_lru_populate(uint8_t *base, BpfLru &lru, uint64_t first_node, uint64_t stride, uint32_t nr) {
  Lru view{base, lru};
  const Lists &ls = view.ls;
  if (!lru.percpu) {
    LruList &l = view.list(0);
    uint64_t node = first_node;
    for (uint32_t i = 0; i < nr; ++i, node += stride) {
      reset_free_node(ls.node(node));
      ls.add(node, l.lists[kLruFree]);
    }
    // Small maps: take fewer nodes per refill, so that one CPU's local list
    // cannot hold every free node while another CPU starves.
    lru.target_free = std::clamp<uint32_t>((nr / lru.ncpus) / 2, 1, kLocalFreeTarget);
    return;
  }
  // Per-CPU lists: each CPU gets an equal share (max_entries was rounded to a
  // multiple of the CPU count).
  const uint32_t per_cpu = std::max<uint32_t>(nr / lru.ncpus, 1);
  uint64_t node = first_node;
  uint32_t i = 0;
  for (uint32_t cpu = 0; cpu < lru.ncpus && i < nr; ++cpu) {
    LruList &l = view.list(cpu);
    do {
      LruNode &n = ls.node(node);
      n.cpu.store(static_cast<uint16_t>(cpu), std::memory_order_relaxed);
      reset_free_node(n);
      ls.add(node, l.lists[kLruFree]);
      node += stride;
      ++i;
    } while (i < nr && (i % per_cpu) != 0);
  }
}

uint64_t bpf_lru_pop_free(uint8_t *base, BpfLru &lru, uint32_t hash, uint32_t cpu, LruDeleteFn del, void *ctx) {
  Lru view{base, lru};
  if (lru.percpu) return view.percpu_pop_free(hash, cpu, del, ctx);
  return view.common_pop_free(hash, cpu, del, ctx);
}

void bpf_lru_push_free(uint8_t *base, BpfLru &lru, uint64_t node) {
  Lru view{base, lru};
  if (lru.percpu) view.percpu_push_free(node);
  else view.common_push_free(node);
}

} // namespace userbpf
