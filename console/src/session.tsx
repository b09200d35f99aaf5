// The logged-in key: kept in sessionStorage (gone when the tab closes, never in a URL), and who it is.
import { createContext, useContext } from "react";
import { Api, type Identity } from "./api";

const STORAGE = "openmaas.apiKey";

export function storedKey(): string | null {
  return sessionStorage.getItem(STORAGE);
}

export function storeKey(key: string): void {
  sessionStorage.setItem(STORAGE, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE);
}

export type Session = { api: Api; identity: Identity; logout: () => void };

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a logged-in console");
  return session;
}

export function useApi(): Api {
  return useSession().api;
}
