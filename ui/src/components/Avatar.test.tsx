import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render } from "@testing-library/react";
import { Avatar } from "./Avatar";

afterEach(cleanup);

describe("a contact's avatar", () => {
  it("shows the initials of a name", () => {
    const { container } = render(<Avatar name="Ana Lima" channel="whatsapp" />);
    const avatar = container.querySelector(".avatar")!;
    expect(avatar.textContent).toBe("AL");
    expect(avatar.classList.contains("nameless")).toBe(false);
  });

  it("shows a person on the channel's colour for a contact known by a number only", () => {
    const { container } = render(<Avatar name="5521988887777" channel="telegram" />);
    const avatar = container.querySelector(".avatar")!;
    expect(avatar.querySelector("svg")).not.toBeNull();
    expect(avatar.textContent).toBe("");
    expect([...avatar.classList]).toEqual(["avatar", "nameless", "telegram"]);
  });
});
