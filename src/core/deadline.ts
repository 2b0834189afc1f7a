// Every message has a wall-clock budget. Asynchronous steps race it; a step
// that blocks the thread outright is the shell's to kill (worker or process).

export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
  constructor() {
    super('the message took longer than limits.timeoutMs');
  }
}

/** Throws DeadlineExceeded once the deadline has passed: between synchronous steps, which no timer can interrupt. */
export function checkDeadline(deadline: number): void {
  if (Date.now() >= deadline) throw new DeadlineExceeded();
}

export function withDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  const left = deadline - Date.now();
  if (left <= 0) return Promise.reject(new DeadlineExceeded());
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded()), left);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
