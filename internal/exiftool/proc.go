package exiftool

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one long-lived "exiftool -stay_open True -@ -" process. It runs
// one command at a time; the Pool guarantees exclusive use.
//
// Protocol: every argument is written on its own line to stdin, followed
// by "-execute<N>"; exiftool then prints its answer on stdout followed by
// the line "{ready<N>}". Each command also carries "-echo4 {ready<N>}", so
// that exiftool marks the end of the command's stderr output too; the
// stderr reader goroutine splits stderr per command on that marker.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	out    *bufio.Reader
	seq    int

	errMu   sync.Mutex
	errBuf  bytes.Buffer  // stderr of the current command
	errDone chan int      // seq numbers whose stderr marker was seen
	exited  chan struct{} // closed when the process has been reaped
	waitErr error         // set before exited is closed
	killed  bool          // set by kill, read after exited
	once    sync.Once     // one kill
	started time.Time
}

const stderrCap = 64 << 10

func startProc(binary string) (*proc, error) {
	cmd := exec.Command(binary, "-stay_open", "True", "-@", "-")
	// Own process group, so that kill reaches anything exiftool (or a
	// wrapper script) started; Pdeathsig so that exiftool dies with stor.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("exiftool: stdin pipe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("exiftool: stdout pipe: %w", err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("exiftool: stderr pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exiftool: start %s: %w", binary, err)
	}
	p := &proc{
		cmd:     cmd,
		stdin:   stdin,
		stdout:  stdout,
		out:     bufio.NewReaderSize(stdout, 64<<10),
		errDone: make(chan int, 16),
		exited:  make(chan struct{}),
		started: time.Now(),
	}
	go p.readStderr(stderr)
	go func() {
		// Wait closes the pipes once the process is gone.
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// readStderr copies stderr into errBuf (capped) and reports each
// "{ready<N>}" marker line on errDone.
func (p *proc) readStderr(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if n, ok := readyMarker(line); ok {
			select {
			case p.errDone <- n:
			default: // nobody waits (the call already gave up)
			}
			continue
		}
		p.errMu.Lock()
		if p.errBuf.Len() < stderrCap {
			p.errBuf.WriteString(line)
			p.errBuf.WriteByte('\n')
		}
		p.errMu.Unlock()
	}
	close(p.errDone)
}

func readyMarker(line string) (int, bool) {
	line = strings.TrimRight(line, "\r")
	if !strings.HasPrefix(line, "{ready") || !strings.HasSuffix(line, "}") {
		return 0, false
	}
	n, err := strconv.Atoi(line[len("{ready") : len(line)-1])
	if err != nil {
		return 0, false
	}
	return n, true
}

// exec runs one command and returns its stdout (without the ready line)
// and stderr. It blocks until exiftool answers or its pipes close; the
// caller enforces timeouts by calling kill from another goroutine.
func (p *proc) exec(args []string, maxOut int) (stdout []byte, stderr string, err error) {
	p.seq++
	seq := p.seq
	p.errMu.Lock()
	p.errBuf.Reset()
	p.errMu.Unlock()

	var in bytes.Buffer
	for _, a := range args {
		in.WriteString(a)
		in.WriteByte('\n')
	}
	marker := "{ready" + strconv.Itoa(seq) + "}"
	in.WriteString("-echo4\n" + marker + "\n-execute" + strconv.Itoa(seq) + "\n")
	if _, err := p.stdin.Write(in.Bytes()); err != nil {
		return nil, "", fmt.Errorf("%w: write: %w", ErrProcessDied, err)
	}

	var out bytes.Buffer
	for {
		line, err := p.out.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			out.Write(line)
			if out.Len() > maxOut {
				return nil, "", ErrOutputTooLarge
			}
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("%w: read: %w", ErrProcessDied, err)
		}
		if n, ok := readyMarker(strings.TrimRight(string(line), "\n")); ok && n == seq {
			break
		}
		out.Write(line)
		if out.Len() > maxOut {
			return nil, "", ErrOutputTooLarge
		}
	}
	// Stderr's marker is printed before stdout's ready line, but the two
	// pipes are read independently: wait for it.
	for n := range p.errDone {
		if n == seq {
			break
		}
	}
	p.errMu.Lock()
	stderr = strings.TrimSpace(p.errBuf.String())
	p.errMu.Unlock()
	return out.Bytes(), stderr, nil
}

// kill kills the whole process group and waits (bounded) for the process
// to be reaped. Safe to call more than once and concurrently with exec.
func (p *proc) kill() {
	p.once.Do(func() {
		p.killed = true
		// Negative pid: the process group made by Setpgid.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		// Unblock a reader even if something outside the group still
		// holds the pipe open.
		_ = p.stdout.Close()
		_ = p.stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
		}
	})
}

// stop asks exiftool to exit and kills it if it does not within grace.
func (p *proc) stop(grace time.Duration) {
	_, _ = io.WriteString(p.stdin, "-stay_open\nFalse\n")
	_ = p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.kill()
	}
}

func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}
