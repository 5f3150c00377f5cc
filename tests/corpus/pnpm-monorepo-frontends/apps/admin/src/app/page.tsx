import { Button } from "@storefront/ui";

export default function Page() {
  return (
    <main>
      <h1>admin</h1>
      <Button>Continue</Button>
    </main>
  );
}
