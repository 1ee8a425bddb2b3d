#pragma once
// A worker: one libev loop that accepts on the listening sockets it is given and runs every
// connection through conn::Connection. The only place with socket syscalls (accept4, read,
// writev, sendfile, shutdown, close).
#include <ev.h>
#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "conn/connection.hpp"
#include "io/post_ring.hpp"
#include "log/access_log.hpp"
#include "shm/stats.hpp"

namespace zhttp::io {

struct WorkerConfig {
  conn::ConnectionConfig connection;
  uint32_t max_connections = 10240;      // beyond this the worker stops accepting for a while
  uint32_t input_buffer_bytes = 32768;   // holds a head (max 16 KiB) plus small bodies
  uint32_t output_buffer_bytes = 65536;  // formatted responses, plus the segment ring
  uint32_t max_busy_connections = 4096;  // buffers exist for this many requests in flight
  uint32_t max_body_buffers = 64;        // gathered bodies past an input block; then spill files
  uint32_t post_ring_size = 4096;        // completions posted from other threads, in flight
  uint32_t worker_index = 0;             // told to the handler (WorkerContext)
  double header_timeout = 10;            // from a head's first byte to its end: 408
  double body_timeout = 30;              // between two reads of a body: 408
  double keepalive_timeout = 75;         // idle between requests: close
  double write_timeout = 30;             // no progress sending: close
  double handler_timeout = 60;           // a handler silent this long: 504 (or close mid-stream)
  double linger_timeout = 2;             // reading and dropping input after a final response
  double drain_timeout = 30;             // drain(): then close whatever is left
  double tunnel_timeout = 300;           // a tunnel (after a 101) idle both ways: close
};

class Worker : private conn::ResponseObserver, private conn::ConnectionEvents {
 public:
  // The kind of loop a worker runs (epoll), for a caller that needs it before the worker.
  static struct ev_loop* new_loop();
  // `loop`: one made for it beforehand (new_loop()), which it takes over; null: its own.
  Worker(const WorkerConfig& config, Handler& handler, std::span<const int> listeners,
         struct ev_loop* loop = nullptr);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();

  // Serves until stop(), or until drain() has finished. Call from one thread.
  void run();
  // Thread-safe: stop accepting, answer what is in flight ("Connection: close"), close idle
  // connections, and return from run() when none is left (or after drain_timeout).
  void drain();
  // Thread-safe: return from run() now; open connections are closed.
  void stop();

  size_t open_connections() const { return open_.load(std::memory_order_relaxed); }

  // Orders from the master process, one byte each on `fd` (the read end of a pipe, made
  // non-blocking by the caller). End of file, the master being gone, stops at once.
  static constexpr char kOrderDrain = 'd';
  static constexpr char kOrderStop = 's';
  static constexpr char kOrderReopenLogs = 'r';
  void take_orders_from(int fd);
  // Logs every response to `log` (flushed once a second); null for none.
  void set_access_log(log::AccessLog* log);
  // Counts connections, bytes, responses and latencies into `slot` (the worker's own slot of
  // the shared segment, single writer); null for none.
  void set_stats(shm::WorkerStats* slot);
  // Connections accepted on `listener` start with a PROXY protocol header.
  void expect_proxy_protocol_on(int listener);
  // Every request passes `gate` before its handler (real client address, rate limits); null
  // for none. The gate must outlive the worker.
  void set_access_gate(conn::AccessGate* gate) { ctx_.gate = gate; }
  // Called on kOrderReopenLogs.
  void on_reopen_logs(void (*callback)(void*), void* arg) {
    on_reopen_logs_ = callback;
    reopen_arg_ = arg;
  }

 private:
  // kStarved: data waits on the socket but every input buffer is in use; not read from until
  // one is free (it times out like a head).
  enum List : uint8_t {
    kHeader,
    kBody,
    kHandler,
    kIdle,
    kWrite,
    kLinger,
    kTunnel,
    kStarved,
    kListCount,
    kNone = kListCount
  };

  struct Slot {
    explicit Slot(conn::ConnectionContext& ctx) : conn(ctx) {}
    ev_io watcher{};  // first member: the callback finds its Slot from the watcher
    Slot* prev = nullptr;
    Slot* next = nullptr;
    ev_tstamp stamp = 0;  // when the current timeout started counting
    int fd = -1;
    List list = kNone;
    bool lingering = false;
    bool woken = false;               // in woken_, waiting for on_prepare()
    uint32_t delayed_generation = 0;  // the exchange delay_timer is for
    ev_timer delay_timer{};           // the access stage's delay (data: this slot)
    conn::Connection conn;
  };
  struct TimeoutList {
    Slot* head = nullptr;  // oldest stamp first: every member shares one timeout
    Slot* tail = nullptr;
    double timeout = 0;
    size_t size = 0;
  };

  static void on_accept(struct ev_loop* loop, ev_io* w, int revents);
  static void on_io(struct ev_loop* loop, ev_io* w, int revents);
  static void on_tick(struct ev_loop* loop, ev_timer* w, int revents);
  static void on_command(struct ev_loop* loop, ev_async* w, int revents);
  static void on_order(struct ev_loop* loop, ev_io* w, int revents);
  static void on_prepare(struct ev_loop* loop, ev_prepare* w, int revents);
  static void on_posted(struct ev_loop* loop, ev_async* w, int revents);
  static void on_delay_over(struct ev_loop* loop, ev_timer* w, int revents);
  void stop_now();
  void on_response(const conn::ResponseRecord& record) override;
  void wake(conn::Connection& c) override;
  bool post(conn::Connection* c, uint32_t generation, void (*fn)(Response*, void*),
            void* arg) override;
  bool delay(conn::Connection& c, uint32_t generation, uint64_t us) override;
  void run_woken();
  void run_posted();
  void begin_event();

  void accept_from(int listener);
  void shed_one(int listener);  // EMFILE: accept with the spare descriptor and close at once
  void remember_peer(Slot& s, const sockaddr_storage& peer);
  void handle(Slot& s, int revents);
  void read_some(Slot& s);
  bool shed_oldest_head(const Slot& requester, ev_tstamp now);
  void park(Slot& s);
  void resume_starved();
  void time_out(Slot& s, ev_tstamp now);
  void write_some(Slot& s);
  void update(Slot& s);
  void begin_close(Slot& s);
  void linger_read(Slot& s);
  void close_now(Slot& s, AbortReason why = AbortReason::kClientGone);
  void expire(ev_tstamp now);
  void watch(Slot& s, int events);
  void move_to(Slot& s, List list, bool restart_clock);
  void unlink(Slot& s);
  void pause_accepting();
  void resume_accepting();
  void start_drain();
  void finish_if_drained();

  WorkerConfig config_;
  struct ev_loop* loop_;
  DateCache dates_;
  conn::BufferPool input_pool_;
  conn::BufferPool output_pool_;
  conn::ObjectPool<conn::Exchange> exchanges_;
  conn::BodyBuffers body_buffers_;
  conn::ConnectionContext ctx_;
  std::deque<Slot> slots_;  // all allocated up front; never grows
  std::vector<Slot*> free_;
  std::vector<Slot*> woken_;  // connections to carry on with before the loop sleeps again
  PostRing posts_;
  std::vector<ev_io> listeners_;
  std::vector<int> proxy_listeners_;  // of listeners_, those speaking the PROXY protocol
  TimeoutList lists_[kListCount];
  ev_timer tick_{};
  ev_timer drain_timer_{};
  ev_async command_{};
  ev_prepare prepare_{};
  ev_async posted_{};
  ev_io orders_{};
  void count_response(const conn::ResponseRecord& record);
  void update_gauges();
  log::AccessLog* access_log_ = nullptr;
  shm::WorkerStats* stats_ = nullptr;
  void (*on_reopen_logs_)(void*) = nullptr;
  void* reopen_arg_ = nullptr;
  std::atomic<int> pending_command_{0};
  std::atomic<size_t> open_{0};
  int spare_fd_ = -1;
  bool accepting_ = true;
  bool draining_ = false;
};

}  // namespace zhttp::io
