#include "threads.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "context.h"

bool threads_spawn(void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return false;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* The new thread inherits the mask in force when it is created. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_t thread;
    pthread_sigmask(SIG_SETMASK, &all, &old);
    bool ok = pthread_create(&thread, &attr, fn, arg) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return ok;
}

struct job {
    void (*fn)(void *);
    void *arg;
    struct job *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct job *head, **tail = &head;
static int running;

/* The next job, or NULL (and one worker fewer) when there is none; lock held. */
static struct job *take(void)
{
    struct job *j = head;
    if (j) {
        head = j->next;
        if (!head)
            tail = &head;
    } else {
        running--;
    }
    return j;
}

static void *worker_main(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&lock);
        struct job *j = take();
        pthread_mutex_unlock(&lock);
        if (!j)
            return NULL;
        j->fn(j->arg);
        free(j);
    }
}

bool threads_submit(void (*fn)(void *), void *arg)
{
    struct job *j = malloc(sizeof(*j));
    if (!j)
        return false;
    *j = (struct job){ .fn = fn, .arg = arg };
    pthread_mutex_lock(&lock);
    *tail = j;
    tail = &j->next;
    bool ok = true;
    if (running < THREADS_WORKERS_MAX) {
        running++;
        if (!threads_spawn(worker_main, NULL)) {
            running--;
            /* With no worker at all the job would wait for ever: the caller takes it back. */
            if (running == 0) {
                head = NULL;
                tail = &head;
                free(j);
                ok = false;
            }
        }
    }
    pthread_mutex_unlock(&lock);
    return ok;
}

int threads_workers_running(void)
{
    pthread_mutex_lock(&lock);
    int n = running;
    pthread_mutex_unlock(&lock);
    return n;
}

/* The child has none of its parent's threads: what they would have done is the parent's. The
 * jobs' memory is left (their owners in the child fail them: see udp_assoc_alive). */
static void workers_after_fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    head = NULL;
    tail = &head;
    running = 0;
}

static void workers_before_fork(void) { pthread_mutex_lock(&lock); }
static void workers_after_fork_parent(void) { pthread_mutex_unlock(&lock); }

__attribute__((constructor)) static void workers_init(void)
{
    context_atfork(workers_before_fork, workers_after_fork_parent, workers_after_fork_child);
}
