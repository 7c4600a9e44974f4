/** Types of the (patched, see scripts/patch-fuse-native.sh) fuse-native binding, as ObjectFS uses it. */
declare module 'fuse-native' {
  interface FuseOptions {
    mkdir?: boolean;
    force?: boolean;
    autoUnmount?: boolean;
    fsname?: string;
    subtype?: string;
    /** Further `-o` options, one per item (added by the ObjectFS patch). */
    extraOptions?: readonly string[];
    timeout?: number | false | Record<string, number | false>;
    [key: string]: unknown;
  }
  class Fuse {
    constructor(mountPoint: string, ops: Record<string, unknown>, options?: FuseOptions);
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
  }
  export default Fuse;
}
