// A page's calls to the API: useLoad for the data it shows (loading, error, reload, polling while open),
// useAction for what a button or form starts.
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiError } from "../api";

export type Loaded<T> = { data: T | null; error: ApiError | null; loading: boolean; reload: () => Promise<void> };

export function useLoad<T>(load: () => Promise<T>, deps: unknown[], pollMs: number | null = null): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const value = await loadRef.current();
      if (mine === generation.current) {
        setData(value);
        setError(null);
      }
    } catch (exc) {
      if (mine === generation.current) setError(exc as ApiError);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    setLoading(true);
    void reload();
    if (!pollMs) return;
    const timer = setInterval(() => { if (!document.hidden) void reload(); }, pollMs);
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, pollMs]);

  return { data, error, loading, reload };
}

/** An action a button starts: `busy` while it runs, the error next to the button when it fails. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = useCallback(async (...args: A): Promise<R | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await action(...args);
    } catch (exc) {
      setError(exc as ApiError);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, [action]);
  return { run, busy, error, setError };
}
