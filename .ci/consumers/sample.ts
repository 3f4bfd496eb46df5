// A TypeScript consumer of @zgres/client as installed from its tarball: its rows are typed, and the types refuse
// what they must.
import { ZgresClient, type ChangeEvent } from "@zgres/client";

interface Input {
  id: number;
  input_id: number | null;
  value: string | null;
  created_at: string;
}

/** The first change of public.inputs, typed. */
export async function firstInput(url: string): Promise<ChangeEvent<Input>> {
  const client = new ZgresClient(url);
  await client.start();
  try {
    for await (const event of client.stream<Input>("public.inputs")) return event;
    throw new Error("the stream ended before a change came");
  } finally {
    await client.stop();
  }
}

export function valueOf(event: ChangeEvent<Input>): string | null {
  // @ts-expect-error a row's columns keep their types: value is a string or null, never a number
  const wrong: number = event.data.value;
  return wrong === 0 ? null : event.data.value;
}
