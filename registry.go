package sspi

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// registeredPackage is a Package with the Info it reported when registered, so the hot
// path never calls Info again.
type registeredPackage struct {
	pkg  Package
	info PackageInfo
}

var registry struct {
	sync.RWMutex
	byName map[string]*registeredPackage // keyed by lower-case name: SSPI names are case-insensitive
}

// Register makes a security package available by its name. Packages call it from an
// init function, so importing a package registers it (like database/sql drivers):
//
//	import _ "github.com/gosspi/sspi/ntlm"
//
// aliases are further names for the same package, as Windows lists Schannel also as
// "Microsoft Unified Security Protocol Provider". Each name is an entry of its own in
// EnumerateSecurityPackages, with the package's Info under that name, and each can be
// given to AcquireCredentialsHandle; credentials acquired under either name are the
// package's, so a context may switch between them (see CredentialsChanger).
//
// Register panics if p is nil, has no name, or a package of one of the names (compared
// case-insensitively) is already registered.
func Register(p Package, aliases ...string) {
	if p == nil {
		panic("sspi: Register of a nil package")
	}
	info := p.Info()
	if info.Name == "" {
		panic("sspi: Register of a package without a name")
	}
	names := append([]string{info.Name}, aliases...)
	registry.Lock()
	defer registry.Unlock()
	if registry.byName == nil {
		registry.byName = make(map[string]*registeredPackage)
	}
	for _, name := range names {
		if _, dup := registry.byName[strings.ToLower(name)]; dup || name == "" {
			panic("sspi: Register called twice for package name " + strconv.Quote(name))
		}
	}
	for _, name := range names {
		ni := info
		ni.Name = name
		registry.byName[strings.ToLower(name)] = &registeredPackage{pkg: p, info: ni}
	}
}

func lookup(name string) (*registeredPackage, error) {
	registry.RLock()
	rp := registry.byName[strings.ToLower(name)]
	registry.RUnlock()
	if rp == nil {
		return nil, &Error{Status: ErrSecPkgNotFound, Err: fmt.Errorf("sspi: no security package named %q is registered (import its package, for example github.com/gosspi/sspi/ntlm)", name)}
	}
	return rp, nil
}

// LookupPackage returns the registered package of the given name, for packages that are
// composed from others, as Negotiate is. Applications use AcquireCredentialsHandle.
// An unknown name gives an error carrying ErrSecPkgNotFound.
func LookupPackage(name string) (Package, error) {
	rp, err := lookup(name)
	if err != nil {
		return nil, err
	}
	return rp.pkg, nil
}

// EnumerateSecurityPackages returns the SecPkgInfo of every registered package, sorted by
// name. It is SSPI's EnumerateSecurityPackages; it cannot fail.
func EnumerateSecurityPackages() []PackageInfo {
	registry.RLock()
	infos := make([]PackageInfo, 0, len(registry.byName))
	for _, rp := range registry.byName {
		infos = append(infos, rp.info)
	}
	registry.RUnlock()
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	return infos
}

// QuerySecurityPackageInfo returns the SecPkgInfo of the named package (the name is
// case-insensitive). It is SSPI's QuerySecurityPackageInfo and returns an error
// carrying ErrSecPkgNotFound for an unknown name.
func QuerySecurityPackageInfo(name string) (PackageInfo, error) {
	rp, err := lookup(name)
	if err != nil {
		return PackageInfo{}, err
	}
	return rp.info, nil
}
