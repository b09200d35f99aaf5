/// <reference types="vitest/config" />
// Builds the console into the Python package (src/openmaas/web), which serves it at `/`.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../src/openmaas/web",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `npm run dev` against a running `openmaas serve` on the default port.
    proxy: Object.fromEntries(["/v1", "/api", "/health", "/status.json"].map((p) => [p, "http://127.0.0.1:8000"])),
  },
  test: {
    environment: "happy-dom",
    include: ["test/**/*.test.{ts,tsx}"],
    pool: "threads",
    maxWorkers: 2,
  },
});
